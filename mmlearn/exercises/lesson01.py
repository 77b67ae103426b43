"""Exercises of lesson 01 (modalities): three steps the lesson then runs on.

Taught in lesson 01 (sections 3, "Audio", and 5, "One feature extractor per modality").

01.1 turns a batch of waveforms into a power spectrogram (centred frames, a
Hann window, the real FFT): the lesson plots it and builds its log-mel from
it. 01.2 builds Slaney's mel filterbank (librosa's default, which ``log_mel``
uses): the lesson plots the filters and multiplies them with 01.1's power to
get the log-mel spectrogram it shows. 01.3 is a small 1-D convolutional
feature extractor for the sensor channels: it joins section 5's table of
extractors, and the lesson trains it with a linear layer on simulated
activity windows beside ``SensorEncoder``. Each has a reference in the package (``power_spectrogram``,
``mel_filterbank``, ``SimpleSensorEncoder``) that ``use`` hands to the lesson
until the student's version passes.
"""

import librosa
import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.data.audio_features import mel_filterbank, power_spectrogram
from mmlearn.encoders.sensor import SimpleSensorEncoder
from mmlearn.exercises.checker import ExerciseFailure, _guarded, exercise, expect_close, expect_raises

# --- 01.1: the power spectrogram -------------------------------------------------------------------------


def _close(a, b) -> bool:
    return (
        isinstance(a, torch.Tensor)
        and a.is_floating_point()
        and a.shape == b.shape
        and torch.allclose(a.to(b.dtype), b, rtol=1e-3, atol=1e-6)
    )


def _diagnose_spectrogram(result, x: torch.Tensor, n_fft: int, hop: int, what: str) -> None:
    """Name the usual slips (no centring, axes swapped, no window, magnitude) before the generic message."""
    if not isinstance(result, torch.Tensor):
        return
    bins, centred = n_fft // 2 + 1, 1 + x.shape[1] // hop
    uncentred = 1 + (x.shape[1] - n_fft) // hop
    if result.dim() == 3 and result.shape[1] == bins and result.shape[2] == uncentred != centred:
        raise ExerciseFailure(
            f"{what}: you have {uncentred} frames, 1 + (T - n_fft) // hop_length, and {centred} were "
            "expected: pad n_fft // 2 zeros at each end first, so that frame m is centred on sample "
            "m * hop_length (librosa's default)"
        )
    if result.dim() == 3 and tuple(result.shape) == (x.shape[0], centred, bins) and bins != centred:
        raise ExerciseFailure(
            f"{what} should have shape (B, n_fft // 2 + 1, frames) = {(x.shape[0], bins, centred)}, got "
            f"{tuple(result.shape)}: put the frequency bins in dimension 1 and the frames in dimension 2"
        )
    frames = F.pad(x, (n_fft // 2, n_fft // 2)).unfold(1, n_fft, hop)
    variants = {
        "frames without a window: multiply each frame by a Hann window first": frames,
        "a symmetric Hann window: librosa uses the periodic one (the window of an n_fft + 1 point "
        "symmetric window, without its last sample)": frames * torch.hann_window(n_fft, periodic=False),
    }
    for slip, framed in variants.items():
        if _close(result, torch.fft.rfft(framed, dim=-1).abs().pow(2).transpose(1, 2)):
            raise ExerciseFailure(f"{what} matches {slip}")
    if _close(result, power_spectrogram(x, n_fft, hop).sqrt()):
        raise ExerciseFailure(f"{what} holds magnitudes |X[m, k]|: the power is their square")


@exercise(
    "01.1",
    "the power spectrogram of centred frames",
    (
        "Three steps: make room so that frame m is centred on sample m * hop_length (how many zeros at "
        "each end?), cut all the overlapping frames at once (no Python loop), then turn each windowed "
        "frame into its power per frequency bin. Which axis holds the bins at the end?",
        "Which calls do each step: torch.nn.functional.pad makes room, Tensor.unfold cuts overlapping "
        "windows along one axis, torch.hann_window builds the window (periodic by default: is that "
        "librosa's?) and torch.fft.rfft transforms a real signal. Which of them needs the waveforms' "
        "dtype passed on, so that the output keeps it?",
    ),
    reference=power_spectrogram,
)
def check_power_spectrogram(student):
    gen = torch.Generator().manual_seed(0)
    for b, t, n_fft, hop in [(2, 100, 16, 8), (1, 300, 64, 32), (3, 50, 32, 7), (1, 5600, 256, 128)]:
        x = 0.5 * torch.randn(b, t, generator=gen)
        expected = power_spectrogram(x, n_fft, hop)  # before the student runs, who gets a copy
        what = f"the power spectrogram of a ({b}, {t}) batch with n_fft={n_fft}, hop_length={hop}"
        result = student(x.clone(), n_fft, hop)
        if isinstance(result, torch.Tensor) and result.is_floating_point() and result.dtype != x.dtype:
            raise ExerciseFailure(
                f"{what} should keep the waveforms' dtype ({x.dtype}, so that the mel filterbank can "
                f"multiply it), got {result.dtype}"
            )
        _diagnose_spectrogram(result, x, n_fft, hop, what)
        expect_close(result, expected, what, atol=1e-5 * float(expected.max()), rtol=1e-3)
    expect_raises(
        lambda: student(torch.randn(5600), 256, 128),
        ValueError,
        "a single clip of shape (5600,), not (B, T),",
    )


# --- 01.2: Slaney's mel filterbank -----------------------------------------------------------------------


@exercise(
    "01.2",
    "Slaney's mel filterbank",
    (
        "Three stages: the n_mels + 2 band edges (equally spaced in mel, then converted back to Hz), the "
        "frequency of every FFT bin, and for each band a triangle that rises from its left edge to 1 at "
        "its centre and falls back to 0 at its right edge. Then rescale each triangle so that all bands "
        "have the same area.",
        "librosa.hz_to_mel and librosa.mel_to_hz convert between Hz and mel (Slaney's scale is their "
        "default), and np.linspace spaces points evenly. FFT bin k sits at k * sample_rate / n_fft Hz. "
        "To build all triangles at once, think of broadcasting: what shapes must the edges and the bin "
        "frequencies have so that one expression gives an (n_mels, K) result? The task's formula for "
        "F_b says the rest, and the dtype asked for.",
    ),
    reference=mel_filterbank,
)
def check_mel_filterbank(student):
    for sample_rate, n_fft, n_mels in [(8000, 256, 40), (16000, 512, 64), (22050, 1024, 20)]:
        expected = mel_filterbank(sample_rate, n_fft, n_mels)
        what = f"mel_filterbank({sample_rate}, {n_fft}, {n_mels})"
        result = student(sample_rate, n_fft, n_mels)
        if isinstance(result, torch.Tensor) and result.shape == expected.shape:
            if result.dtype != torch.float32:
                raise ExerciseFailure(
                    f"{what} should be float32 (the power spectrogram's dtype, so that they can be "
                    f"multiplied), got {result.dtype}"
                )
            htk = torch.from_numpy(
                librosa.filters.mel(
                    sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmax=sample_rate / 2, htk=True
                )
            )
            if torch.allclose(result, htk, rtol=1e-3, atol=1e-7):
                raise ExerciseFailure(
                    f"{what} follows HTK's mel scale, 2595 log10(1 + f / 700); librosa's default (and "
                    "log_mel's) is Slaney's, linear below 1 kHz"
                )
            peaks = result.amax(dim=1)
            if torch.allclose(peaks[peaks > 0], torch.ones(1), atol=1e-3) and torch.allclose(
                result * expected.amax(dim=1, keepdim=True), expected, rtol=1e-3, atol=1e-7
            ):
                raise ExerciseFailure(
                    f"{what}: your triangles peak at 1; Slaney's normalisation scales band b by "
                    "2 / (f_(b+2) - f_b) so that every band has the same area"
                )
        expect_close(result, expected, what, atol=1e-6, rtol=1e-4)


# --- 01.3: a 1-D convolutional feature extractor ----------------------------------------------------------


def _shapes(module: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in module.parameters()]


def _diagnose_encoder(result, reference: SimpleSensorEncoder, x: torch.Tensor, what: str) -> None:
    """Name the usual slips (stride, pooling, a missing ReLU) when the output matches one of them."""
    if not isinstance(result, torch.Tensor):
        return
    c1, c2, fc = reference.conv1, reference.conv2, reference.fc

    def run(stride=2, pool="mean", relu=True):
        act = torch.relu if relu else (lambda h: h)
        h = act(F.conv1d(x, c1.weight, c1.bias, padding=c1.padding))
        h = act(F.conv1d(h, c2.weight, c2.bias, stride=stride, padding=c2.padding))
        return fc(h.mean(dim=2) if pool == "mean" else h.amax(dim=2))

    slips = {
        "the second convolution has stride 1; it should have stride 2": dict(stride=1),
        "you pool with the maximum over time; take the mean": dict(pool="max"),
        "there is no ReLU after the convolutions": dict(relu=False),
    }
    with torch.no_grad():
        for slip, options in slips.items():
            if _close(result, run(**options)) and not _close(result, run()):
                raise ExerciseFailure(f"{what}: {slip}")


@exercise(
    "01.3",
    "a 1-D convolutional feature extractor",
    (
        "Follow the shapes: (B, C, T) comes in. What does a convolution padded by kernel_size // 2 on "
        "each side do to T, and one with stride 2? What turns (B, hidden, T') into one vector per "
        "window? Create conv1, conv2 and fc in that order: the checker copies the reference's weights into "
        "yours in that order.",
        "In __init__: nn.Conv1d twice (the second with stride=2) and one nn.Linear. In forward: a ReLU "
        "after each convolution, the mean over the time axis (dimension 2), then the linear layer. Check "
        "x first: raise ValueError when it is not 3-D or its dimension 1 is not in_channels.",
    ),
    reference=SimpleSensorEncoder,
)
def check_simple_sensor_encoder(student):
    gen = torch.Generator().manual_seed(0)
    for in_channels, out_dim, options in [(6, 8, {}), (3, 16, {"hidden": 8, "kernel_size": 3})]:
        extra = "".join(f", {k}={v}" for k, v in options.items())
        what = f"SimpleSensorEncoder({in_channels}, {out_dim}{extra})"
        model = student(in_channels, out_dim, **options)
        if not isinstance(model, nn.Module):
            raise ExerciseFailure(f"{what} should build an nn.Module, got {type(model).__name__}")
        if getattr(model, "out_dim", None) != out_dim:
            raise ExerciseFailure(
                f"{what}.out_dim should be {out_dim}, got {getattr(model, 'out_dim', None)!r}"
            )
        reference = SimpleSensorEncoder(in_channels, out_dim, **options)
        if _shapes(model) != _shapes(reference):
            raise ExerciseFailure(
                f"{what} has parameters of shapes {_shapes(model)}; expected {_shapes(reference)} (conv1 "
                "weight and bias, conv2 weight and bias, then the linear layer's weight and bias, created "
                "in that order)"
            )
        with torch.no_grad():  # the same weights in both, so that their outputs can be compared
            for mine, theirs in zip(model.parameters(), reference.parameters(), strict=True):
                mine.copy_(theirs)
        forward = _guarded(model)
        for t in (128, 37, 1):
            x = torch.randn(4, in_channels, t, generator=gen)
            with torch.no_grad():
                expected = reference(x)
                result = forward(x.clone())
            where = f"{what} on a (4, {in_channels}, {t}) batch, with the reference's weights"
            _diagnose_encoder(result, reference, x, where)
            expect_close(result, expected, where)
        expect_raises(
            lambda m=forward, c=in_channels: m(torch.randn(2, c + 1, 20)),
            ValueError,
            f"{what} given a batch with {in_channels + 1} channels",
        )
