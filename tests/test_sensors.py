import numpy as np
import pytest
import torch

from mmlearn.data.sensors import (
    ACTIVITY_NAMES,
    CHANNEL_NAMES,
    SAMPLE_RATE_HZ,
    WINDOW_SAMPLES,
    WINDOW_SECONDS,
    imu_channels,
    sensor_activities,
)


@pytest.fixture(scope="module")
def data():
    return sensor_activities(1200, seed=0)


def _windows(data, name):
    rows = data.labels == ACTIVITY_NAMES.index(name)
    return data.modalities["accel"][rows].double().numpy(), data.modalities["gyro"][rows].double().numpy()


def test_shapes_units_and_labels(data):
    assert WINDOW_SAMPLES == round(SAMPLE_RATE_HZ * WINDOW_SECONDS) == 128
    for key in ("accel", "gyro"):
        x = data.modalities[key]
        assert x.shape == (1200, 3, 128) and x.dtype == torch.float32 and x.isfinite().all()
    assert data.labels.dtype == torch.int64
    assert data.info["activity"] == [ACTIVITY_NAMES[i] for i in data.labels.tolist()]
    assert set(data.info["subject"].tolist()) <= set(range(10))
    assert len(ACTIVITY_NAMES) == 6 and len(CHANNEL_NAMES) == 6


def test_labels_are_balanced():
    for n in (600, 605):
        counts = torch.bincount(sensor_activities(n, seed=1).labels, minlength=6)
        assert counts.max() - counts.min() <= 1 and counts.sum() == n


def test_same_seed_same_data_other_seed_differs():
    a, b, c = sensor_activities(60, seed=2), sensor_activities(60, seed=2), sensor_activities(60, seed=3)
    assert torch.equal(a.modalities["accel"], b.modalities["accel"])
    assert torch.equal(a.modalities["gyro"], b.modalities["gyro"])
    assert torch.equal(a.labels, b.labels) and a.info["activity"] == b.info["activity"]
    assert not torch.equal(a.modalities["accel"], c.modalities["accel"])


def test_still_windows_read_one_g(data):
    for name in ("sitting", "standing", "lying"):
        accel, gyro = _windows(data, name)
        magnitude = np.linalg.norm(accel.mean(axis=2), axis=1)  # gravity, averaged over the window
        assert np.all(np.abs(magnitude - 1) < 0.05), name
        assert np.sqrt((gyro**2).mean()) < 0.1, name


def test_running_moves_more_than_walking_more_than_sitting(data):
    def energy(name):
        accel, gyro = _windows(data, name)
        return np.linalg.norm(accel, axis=1).std(axis=1).mean(), np.sqrt((gyro**2).mean())

    run, walk, sit = energy("running"), energy("walking"), energy("sitting")
    assert run[0] > 2 * walk[0] > 10 * sit[0]
    assert run[1] > 1.5 * walk[1] > 5 * sit[1]


def test_vertical_acceleration_peaks_at_the_step_frequency(data):
    freqs = np.fft.rfftfreq(WINDOW_SAMPLES, d=1 / SAMPLE_RATE_HZ)
    for name in ("walking", "running", "climbing_stairs"):
        rows = (data.labels == ACTIVITY_NAMES.index(name)).numpy()
        vertical = data.modalities["accel"][rows, 0].double().numpy()
        spectrum = np.abs(np.fft.rfft(vertical - vertical.mean(axis=1, keepdims=True), axis=1))
        peak = freqs[spectrum.argmax(axis=1)]
        step = data.info["step_hz"][rows].numpy()
        assert np.mean(np.abs(peak - step) <= freqs[1]) > 0.9, name  # within one frequency bin
    still = ~np.isin(
        data.labels.numpy(), [ACTIVITY_NAMES.index(a) for a in ("walking", "running", "climbing_stairs")]
    )
    assert (data.info["step_hz"][still] == 0).all()


def test_posture_separates_sitting_from_standing_and_lying(data):
    def mean_axes(name):
        return _windows(data, name)[0].mean(axis=(0, 2))  # (3,) average reading in g

    sit, stand, lie = mean_axes("sitting"), mean_axes("standing"), mean_axes("lying")
    assert stand[0] > 0.95 and sit[0] < 0.93  # leaning back tips "up" away from the x axis
    assert sit[2] < stand[2] - 0.25
    assert lie[0] < 0.2  # lying: gravity no longer along the trunk


def test_noise_argument_scales_the_noise():
    def roughness(noise):
        data = sensor_activities(120, seed=4, noise=noise)
        still = data.labels == ACTIVITY_NAMES.index("standing")
        return data.modalities["accel"][still].double().diff(dim=2).std().item()

    assert roughness(3.0) > 5 * roughness(0.0)
    assert roughness(1.0) > 2 * roughness(0.0)


def test_imu_channels_stacks_accel_then_gyro(data):
    imu = imu_channels(data)
    assert imu.shape == (1200, 6, 128)
    assert torch.equal(imu[:, :3], data.modalities["accel"]) and torch.equal(
        imu[:, 3:], data.modalities["gyro"]
    )
    assert torch.equal(imu_channels(data.modalities), imu)
    with pytest.raises(KeyError, match="gyro"):
        imu_channels({"accel": data.modalities["accel"]})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": -3}, "n must be a positive integer"),
        ({"n": 10, "n_subjects": 0}, "n_subjects must be a positive integer"),
        ({"n": 10, "noise": -1.0}, "noise must be a finite number >= 0"),
        ({"n": 10, "noise": float("nan")}, "noise must be a finite number >= 0"),
        ({"n": 10, "seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sensor_activities(**kwargs)
