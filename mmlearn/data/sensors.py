r"""Waist-worn accelerometer and gyroscope windows for six everyday activities.

Why this module exists: lesson 01 shows what sensor data looks like as a
tensor (channels x time) and feeds it to a 1-D convolution. Real recordings
(for example UCI HAR) need a download; this generator makes windows of the
same shape from a small physical model, so every number in it has a meaning.

Format (as in UCI HAR): 50 Hz, windows of 2.56 s = 128 samples, a 3-axis
accelerometer in g (gravity included) and a 3-axis gyroscope in rad/s. Axes
of the body frame: x = up along the trunk, y = to the left, z = forward.

The model, per window of activity :math:`a`, subject :math:`s`:

* Posture. The accelerometer at rest reads the "up" direction
  :math:`u = (\cos\beta\cos\gamma,\ \cos\beta\sin\gamma,\ \sin\beta)` in g,
  with trunk pitch :math:`\beta \sim \mathcal N(\mu_a, \sigma_a^2)` (forward
  lean when walking uphill, leaning back when seated) and small roll
  :math:`\gamma`. Lying rolls the body about its long axis by
  :math:`\phi \sim U(-100°, 100°)` (back to side): :math:`u = (0.05, \sin\phi, \cos\phi)`.
* Gait (walking, running, climbing stairs). Step frequency
  :math:`f = f_a \cdot c_s \cdot (1 + 0.03\,\varepsilon)` with a cadence
  :math:`c_s \sim \mathcal N(1, 0.07^2)` per subject. Body acceleration
  :math:`A_a\,m_s` (vigour :math:`m_s`, log-normal per subject) split over
  vertical :math:`\sin(2\pi f t) + h_a \sin(4\pi f t + \delta)`, forward (same
  frequency, shifted phase) and lateral sway at the stride frequency
  :math:`f/2`. The gyroscope sees pelvic yaw and roll at :math:`f/2` and pitch
  at :math:`f`, amplitude :math:`G_a m_s`.
* Stillness (sitting, standing, lying): a slow postural sway (0.1-0.6 Hz) of
  amplitude :math:`A_a`, and gyroscope rates of the same slow sway.
* Mounting. Each subject wears the phone slightly tilted (pitch and roll
  :math:`\mathcal N(0, 6°)`), which rotates both sensors; each gyroscope
  has a constant bias :math:`\mathcal N(0, 0.01)` rad/s.
* Noise. White noise of sd 0.01 g and 0.01 rad/s, times ``noise``.

Sitting and standing differ only in posture, as in real data, so they are
the pair a classifier confuses most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.validation import check_modalities, check_number, check_positive_int, check_seed

SAMPLE_RATE_HZ = 50.0
WINDOW_SECONDS = 2.56
WINDOW_SAMPLES = 128  # 2.56 s at 50 Hz
CHANNEL_NAMES = ("accel_x", "accel_y", "accel_z", "gyro_x", "gyro_y", "gyro_z")
ACCEL_UNIT, GYRO_UNIT = "g", "rad/s"


@dataclass(frozen=True)
class Activity:
    """One activity's parameters (see the module docstring for the symbols)."""

    name: str
    step_hz: float  # f_a, 0 for a still activity
    accel_amp: float  # A_a in g: gait acceleration, or sway for a still activity
    second_harmonic: float  # h_a: weight of the 2 f component of vertical acceleration
    gyro_amp: float  # G_a in rad/s
    pitch_deg: float  # mu_a, trunk pitch (forward lean > 0)
    pitch_sd_deg: float  # sigma_a


ACTIVITIES = (
    Activity("walking", 1.9, 0.25, 0.35, 0.60, 4.0, 4.0),
    Activity("running", 2.8, 0.90, 0.60, 1.50, 10.0, 5.0),
    Activity("climbing_stairs", 1.6, 0.30, 0.50, 0.80, 12.0, 5.0),
    Activity("sitting", 0.0, 0.010, 0.0, 0.03, -25.0, 10.0),
    Activity("standing", 0.0, 0.012, 0.0, 0.04, 0.0, 6.0),
    Activity("lying", 0.0, 0.005, 0.0, 0.02, 0.0, 0.0),
)
ACTIVITY_NAMES = tuple(a.name for a in ACTIVITIES)
_LYING = ACTIVITY_NAMES.index("lying")


def _rotation(pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(N,) angles in radians -> (N, 3, 3): roll about forward z, then pitch about lateral y."""
    n = len(pitch)
    cp, sp, cr, sr = np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    rot_y = np.zeros((n, 3, 3))
    rot_y[:, 0, 0], rot_y[:, 0, 2], rot_y[:, 1, 1], rot_y[:, 2, 0], rot_y[:, 2, 2] = cp, -sp, 1, sp, cp
    rot_z = np.zeros((n, 3, 3))
    rot_z[:, 0, 0], rot_z[:, 0, 1], rot_z[:, 1, 0], rot_z[:, 1, 1], rot_z[:, 2, 2] = cr, -sr, sr, cr, 1
    return rot_y @ rot_z


def sensor_activities(
    n: int, *, seed: int = 0, n_subjects: int = 10, noise: float = 1.0
) -> MultimodalDataset:
    """``n`` windows, about equally many of each activity, as a ``MultimodalDataset``.

    Modalities: "accel" float32 (N, 3, 128) in g and "gyro" float32 (N, 3, 128)
    in rad/s (``imu_channels`` stacks them into (N, 6, 128)). Labels: int64
    (N,) indexing ``ACTIVITY_NAMES``. Info: "activity" (names), "subject"
    (int64 ids, for subject-wise splits), "step_hz" (float64, 0 when still).
    ``noise`` scales the white sensor noise (0 = none).
    """
    check_positive_int(n, "n")
    check_positive_int(n_subjects, "n_subjects")
    check_seed(seed)
    noise = check_number(noise, "noise", minimum=0.0)
    rng = np.random.default_rng(int(seed))
    k = len(ACTIVITIES)

    labels = rng.permutation(np.arange(n) % k)  # balanced: counts differ by at most 1

    def per_activity(field: str) -> np.ndarray:  # one activity parameter for every window, (N,)
        return np.array([getattr(a, field) for a in ACTIVITIES])[labels]

    subjects = rng.integers(0, n_subjects, size=n)
    cadence = rng.normal(1.0, 0.07, size=n_subjects)[subjects]
    vigour = np.exp(rng.normal(0.0, 0.15, size=n_subjects))[subjects]
    mount = _rotation(*np.deg2rad(rng.normal(0.0, 6.0, size=(2, n_subjects))))[subjects]  # (N, 3, 3)
    gyro_bias = rng.normal(0.0, 0.01, size=(n_subjects, 3))[subjects]  # (N, 3)

    t = np.arange(WINDOW_SAMPLES) / SAMPLE_RATE_HZ  # (T,) seconds
    moving = per_activity("step_hz") > 0
    step_hz = per_activity("step_hz") * cadence * (1 + 0.03 * rng.standard_normal(n))  # (N,)
    step_hz = np.where(moving, step_hz, 0.0)
    amp = per_activity("accel_amp") * vigour  # (N,)
    gyro_amp = per_activity("gyro_amp") * vigour
    phase = rng.uniform(0, 2 * np.pi, size=(n, 4))

    # posture: the "up" direction that gravity makes the accelerometer read
    pitch = np.deg2rad(per_activity("pitch_deg") + per_activity("pitch_sd_deg") * rng.standard_normal(n))
    roll = np.deg2rad(3.0 * rng.standard_normal(n))
    up = np.stack(
        [np.cos(pitch) * np.cos(roll), np.cos(pitch) * np.sin(roll), np.sin(pitch)], axis=1
    )  # (N, 3)
    lie = np.deg2rad(rng.uniform(-100, 100, size=n))
    lying_up = np.stack([np.full(n, 0.05), np.sin(lie), np.cos(lie)], axis=1)
    lying_up /= np.linalg.norm(lying_up, axis=1, keepdims=True)
    up = np.where((labels == _LYING)[:, None], lying_up, up)

    # gait: step frequency f, stride frequency f / 2; broadcasting (N, 1) x (T,) -> (N, T)
    # no two steps are alike: the gait phase wanders (a random walk, about 0.25 rad over a window)
    wander = np.cumsum(rng.normal(0.0, 0.025, size=(n, WINDOW_SAMPLES)), axis=1)  # (N, T)
    w = 2 * np.pi * step_hz[:, None] * t[None, :] + wander  # (N, T)
    p0, p1, p2, p3 = (phase[:, i : i + 1] for i in range(4))
    h = per_activity("second_harmonic")[:, None]
    gait_acc = np.stack(
        [np.sin(w + p0) + h * np.sin(2 * (w + p0) + p1), 0.4 * np.sin(w / 2 + p2), 0.5 * np.sin(w + p0 + p3)],
        axis=1,
    )  # (N, 3, T)
    gait_gyro = np.stack([np.sin(w / 2 + p2), 0.5 * np.sin(w + p1), 0.7 * np.sin(w / 2 + p3)], axis=1)

    # stillness: slow sway, a sum of three sinusoids of 0.1-0.6 Hz per axis
    sway_hz = rng.uniform(0.1, 0.6, size=(n, 3, 3, 1))
    sway_phase = rng.uniform(0, 2 * np.pi, size=(n, 3, 3, 1))
    sway = np.sin(2 * np.pi * sway_hz * t + sway_phase).sum(axis=2) / np.sqrt(3)  # (N, 3, T)
    sway_rate = np.cos(2 * np.pi * sway_hz * t + sway_phase).sum(axis=2) / np.sqrt(3)

    motion_acc = np.where(moving[:, None, None], gait_acc, sway)
    motion_gyro = np.where(moving[:, None, None], gait_gyro, sway_rate)
    accel_body = up[:, :, None] + amp[:, None, None] * motion_acc  # (N, 3, T)
    gyro_body = gyro_amp[:, None, None] * motion_gyro

    accel = mount @ accel_body + noise * 0.01 * rng.standard_normal((n, 3, WINDOW_SAMPLES))
    gyro = (
        mount @ gyro_body + gyro_bias[:, :, None] + noise * 0.01 * rng.standard_normal((n, 3, WINDOW_SAMPLES))
    )

    info = {
        "activity": [ACTIVITY_NAMES[i] for i in labels],
        "subject": torch.from_numpy(subjects.astype(np.int64)),
        "step_hz": torch.from_numpy(step_hz),
    }
    modalities = {
        "accel": torch.from_numpy(accel.astype(np.float32)),
        "gyro": torch.from_numpy(gyro.astype(np.float32)),
    }
    return MultimodalDataset(modalities, torch.from_numpy(labels.astype(np.int64)), info, ACTIVITY_NAMES)


def imu_channels(data: MultimodalDataset | Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(N, 6, T): accelerometer then gyroscope channels (``CHANNEL_NAMES``), for a single 1-D CNN.

    ``data`` is a dataset from ``sensor_activities`` or its ``{"accel": ..., "gyro": ...}`` dict; both
    must be (N, 3, T) batches of the same N and T, without NaN.
    """
    modalities = data.modalities if isinstance(data, MultimodalDataset) else data
    if not isinstance(modalities, Mapping):
        raise TypeError(
            f"data must be a MultimodalDataset or a dict of modalities, got {type(data).__name__}"
        )
    missing = [key for key in ("accel", "gyro") if key not in modalities]
    if missing:
        raise KeyError(f"data needs modalities 'accel' and 'gyro', missing {missing}")
    accel, gyro = modalities["accel"], modalities["gyro"]
    check_modalities({"accel": accel, "gyro": gyro})  # tensors, no NaN, one batch size
    for key, x in (("accel", accel), ("gyro", gyro)):
        if x.dim() != 3 or x.shape[1] != 3:
            raise ValueError(f"modality '{key}' must be (N, 3, T), got shape {tuple(x.shape)}")
    if accel.shape[2] != gyro.shape[2]:
        raise ValueError(f"'accel' has {accel.shape[2]} time steps but 'gyro' has {gyro.shape[2]}")
    return torch.cat([accel, gyro], dim=1)
