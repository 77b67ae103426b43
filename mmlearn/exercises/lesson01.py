"""Exercises of lesson 01 (modalities): two small pre-processing steps that
turn raw data into the tensors a model reads.

01.1 cuts a waveform into overlapping frames and measures each frame's energy
(the first step of every spectrogram); 01.2 pads token-id lists of different
lengths into one (B, L) batch, which is what ``Vocabulary.encode_batch`` does.
"""

import torch

from mmlearn.exercises.checker import ExerciseFailure, exercise, expect_close, expect_raises


def frame_energy_reference(waveforms: torch.Tensor, frame_length: int, hop_length: int) -> torch.Tensor:
    """(N, T) waveforms -> (N, F) mean squared amplitude of each frame, F = 1 + (T - frame_length) // hop."""
    if waveforms.dim() != 2:
        raise ValueError(f"waveforms must have shape (N, T), got {tuple(waveforms.shape)}")
    if waveforms.shape[1] < frame_length:
        raise ValueError(f"clips of {waveforms.shape[1]} samples are shorter than one frame ({frame_length})")
    frames = waveforms.unfold(1, frame_length, hop_length)  # (N, F, frame_length)
    return frames.pow(2).mean(dim=-1)  # (N, F)


@exercise(
    "01.1",
    "frame a waveform and compute per-frame energy",
    "waveforms.unfold(1, frame_length, hop_length) gives (N, F, frame_length) frames; square and average "
    "over the last axis. Raise ValueError when T < frame_length.",
)
def check_frame_energy(student):
    gen = torch.Generator().manual_seed(0)
    for n, t, frame, hop in [(2, 100, 20, 10), (3, 256, 64, 32), (1, 50, 16, 7), (2, 40, 40, 5)]:
        x = torch.randn(n, t, generator=gen)
        expected = frame_energy_reference(x, frame, hop)  # before the student runs, who gets a copy
        expect_close(
            student(x.clone(), frame, hop),
            expected,
            f"frame energies for T={t}, frame_length={frame}, hop_length={hop}",
        )
    expect_raises(lambda: student(torch.randn(2, 10), 16, 8), ValueError, "a clip shorter than one frame")


def pad_token_ids_reference(sequences: list[list[int]], pad_id: int = 0) -> torch.Tensor:
    """Right-pad lists of token ids with ``pad_id`` into a (B, L) int64 tensor, L = the longest list."""
    if len(sequences) == 0:
        raise ValueError("cannot pad an empty batch")
    tensors = [torch.as_tensor(ids, dtype=torch.long) for ids in sequences]
    return torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=pad_id)  # (B, L)


@exercise(
    "01.2",
    "pad a batch of token id lists",
    "L = max(len(ids)); each row is ids + [pad_id] * (L - len(ids)); build the tensor with dtype=torch.long "
    "(or use torch.nn.utils.rnn.pad_sequence(..., batch_first=True)). Raise ValueError for an empty batch.",
)
def check_pad_token_ids(student):
    cases = [([[5, 6, 7], [8], [9, 10]], 0), ([[4, 4], [1, 2, 3, 4, 5]], 3), ([[7]], 0)]
    for sequences, pad_id in cases:
        expected = pad_token_ids_reference(sequences, pad_id)
        result = student([list(s) for s in sequences], pad_id)
        expect_close(result, expected, f"the padded batch of {sequences} with pad_id={pad_id}")
        if result.dtype != torch.long:
            raise ExerciseFailure(f"token ids should be int64 (torch.long), got {result.dtype}")
    expect_raises(lambda: student([], 0), ValueError, "an empty batch")
