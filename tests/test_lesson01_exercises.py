"""The lesson-01 exercise specs accept the reference answers and reject typical wrong ones by name."""

import librosa
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.data.audio_features import log_mel, mel_filterbank, power_spectrogram
from mmlearn.encoders import SimpleSensorEncoder
from mmlearn.exercises import check, use
from mmlearn.exercises.checker import passed


def test_references_pass(capsys):
    for exercise_id, reference in [
        ("01.1", power_spectrogram),
        ("01.2", mel_filterbank),
        ("01.3", SimpleSensorEncoder),
    ]:
        check(exercise_id, reference)
        assert passed(exercise_id), capsys.readouterr().out


def test_use_hands_back_the_reference_until_the_answer_passes(capsys):
    def stub(*args):
        raise NotImplementedError()

    assert use("01.1", stub) is power_spectrogram
    assert use("01.2", stub) is mel_filterbank
    assert use("01.3", stub) is SimpleSensorEncoder
    assert "runs on the reference mmlearn.data.audio_features.power_spectrogram" in capsys.readouterr().out


# --- the references themselves ---------------------------------------------------------------------------


def test_power_spectrogram_is_librosas():
    x = 0.3 * torch.randn(3, 5600, generator=torch.Generator().manual_seed(0))
    mine = power_spectrogram(x).numpy()
    theirs = np.abs(librosa.stft(x.numpy(), n_fft=256, hop_length=128)) ** 2
    assert mine.shape == theirs.shape == (3, 129, 44)
    np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5 * theirs.max())


@pytest.mark.parametrize(
    "sample_rate, n_fft, n_mels", [(8000, 256, 40), (16000, 512, 64), (22050, 2048, 128)]
)
def test_mel_filterbank_is_librosas_default(sample_rate, n_fft, n_mels):
    mine = mel_filterbank(sample_rate, n_fft, n_mels)
    theirs = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmax=sample_rate / 2)
    assert mine.dtype == torch.float32 and mine.shape == theirs.shape
    np.testing.assert_allclose(mine.numpy(), theirs, rtol=1e-6, atol=1e-8)


def test_the_two_steps_rebuild_log_mel():
    x = 0.3 * torch.randn(2, 5600, generator=torch.Generator().manual_seed(1))
    rebuilt = 10 * torch.log10(torch.clamp(mel_filterbank() @ power_spectrogram(x), min=1e-5))
    assert (rebuilt - log_mel(x)).abs().max() < 1e-3  # dB


def test_power_spectrogram_bad_input():
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        power_spectrogram(torch.zeros(5600))
    with pytest.raises(TypeError, match="floats"):
        power_spectrogram(torch.zeros(1, 100, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        power_spectrogram(torch.full((1, 100), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        power_spectrogram(torch.zeros(0, 100))
    with pytest.raises(ValueError, match="n_fft"):
        power_spectrogram(torch.zeros(1, 100), n_fft=0)


def test_simple_sensor_encoder_shapes_and_errors():
    torch.manual_seed(0)
    model = SimpleSensorEncoder(6, out_dim=10)
    assert [name for name, _ in model.named_children()] == ["conv1", "conv2", "fc"]
    for t in (1, 2, 37, 128):
        assert model(torch.randn(4, 6, t)).shape == (4, 10)
    with pytest.raises(ValueError, match=r"\(B, 6, T\)"):
        model(torch.randn(4, 5, 20))
    with pytest.raises(ValueError, match="kernel_size"):
        SimpleSensorEncoder(6, kernel_size=4)


# --- typical wrong answers fail with a message that names the slip ----------------------------------------


def _spectrogram(center=True, window="periodic", power=2, swap=True):
    def student(x, n_fft, hop):
        if x.dim() != 2:
            raise ValueError("waveforms must be (B, T)")
        if center:
            x = F.pad(x, (n_fft // 2, n_fft // 2))
        frames = x.unfold(1, n_fft, hop)
        if window:
            frames = frames * torch.hann_window(n_fft, periodic=window == "periodic")
        out = torch.fft.rfft(frames, dim=-1).abs() ** power
        return out.transpose(1, 2) if swap else out

    return student


@pytest.mark.parametrize(
    "student, message",
    [
        (_spectrogram(center=False), "pad n_fft // 2 zeros at each end"),
        (_spectrogram(swap=False), "frequency bins in dimension 1"),
        (_spectrogram(window=None), "without a window"),
        (_spectrogram(window="symmetric"), "periodic"),
        (_spectrogram(power=1), "magnitudes"),
    ],
    ids=["not centred", "axes swapped", "no window", "symmetric window", "magnitude"],
)
def test_power_spectrogram_slips(student, message, capsys):
    check("01.1", student)
    assert not passed("01.1")
    assert message in capsys.readouterr().out


def test_power_spectrogram_in_float64_fails(capsys):
    def student(x, n_fft, hop):  # right values, but float64 would not multiply the float32 filterbank
        return power_spectrogram(x.double(), n_fft, hop)

    check("01.1", student)
    assert not passed("01.1")
    assert "should keep the waveforms' dtype" in capsys.readouterr().out


def test_power_spectrogram_without_the_shape_check_fails(capsys):
    def student(x, n_fft, hop):  # quietly treats one clip as a batch of one
        return power_spectrogram(x if x.dim() == 2 else x[None], n_fft, hop)

    check("01.1", student)
    assert not passed("01.1")
    assert "should raise ValueError" in capsys.readouterr().out


def test_mel_filterbank_slips(capsys):
    def htk(sample_rate, n_fft, n_mels):
        mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmax=sample_rate / 2, htk=True)
        return torch.from_numpy(mel)

    def peak_one(sample_rate, n_fft, n_mels):
        fb = mel_filterbank(sample_rate, n_fft, n_mels)
        return fb / fb.amax(dim=1, keepdim=True)

    def float64(sample_rate, n_fft, n_mels):
        return mel_filterbank(sample_rate, n_fft, n_mels).double()

    for student, message in [(htk, "HTK"), (peak_one, "same area"), (float64, "float32")]:
        check("01.2", student)
        assert not passed("01.2")
        assert message in capsys.readouterr().out


class _Encoder(nn.Module):
    """A student's extractor with one knob per typical slip."""

    def __init__(self, in_channels, out_dim=64, hidden=32, kernel_size=5, stride=2, pool="mean", order="ok"):
        super().__init__()
        self.in_channels, self.out_dim, self.pool = in_channels, out_dim, pool
        if order == "fc first":
            self.fc = nn.Linear(hidden, out_dim)
        self.conv1 = nn.Conv1d(in_channels, hidden, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(hidden, hidden, kernel_size, stride=stride, padding=kernel_size // 2)
        if order != "fc first":
            self.fc = nn.Linear(hidden, out_dim)

    def forward(self, x):
        if x.shape[1] != self.in_channels:
            raise ValueError("wrong number of channels")
        h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(h.mean(dim=2) if self.pool == "mean" else h.amax(dim=2))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"stride": 1}, "stride 2"),
        ({"pool": "max"}, "take the mean"),
        ({"order": "fc first"}, "created in that order"),
    ],
    ids=["no stride", "max pool", "layer order"],
)
def test_encoder_slips(options, message, capsys):
    def student(*args, **kwargs):
        return _Encoder(*args, **kwargs, **options)

    check("01.3", student)
    assert not passed("01.3")
    assert message in capsys.readouterr().out


def test_encoder_that_skips_the_input_check_fails(capsys):
    class Unchecked(SimpleSensorEncoder):
        def forward(self, x):
            h = torch.relu(self.conv2(torch.relu(self.conv1(x))))
            return self.fc(h.mean(dim=2))

    check("01.3", Unchecked)
    assert not passed("01.3")
    assert "should raise ValueError" in capsys.readouterr().out
