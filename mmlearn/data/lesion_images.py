r"""Draw skin-lesion-like RGB images from the four ABCD factors.

For lesson 09 (medical diagnosis, planned): the pictures of the clinical lesions.

Why this module exists: the clinical lesson needs pictures whose diagnostic
content is known exactly. Each picture is a pigmented blob on skin, drawn for
a whole batch at once on a pixel grid in polar coordinates (no per-pixel
loops). Only the four factors carry information about the diagnosis;
everything else is nuisance drawn independently of it.

Geometry. The image covers ``FIELD_OF_VIEW_MM`` (12 mm) at any ``image_size``.
Around a centre jittered by up to 0.8 mm, a pixel at radius :math:`\rho` and
angle :math:`\theta` is inside the lesion when :math:`\rho < r(\theta)` with

.. math::  \frac{r(\theta)}{R} = 1 + e\cos 2(\theta-\psi)
           + A\,[0.3\cos(\theta-\phi_1) + 0.35\cos(3\theta-\phi_3)]
           + B \sum_{k=6}^{12} 0.09\cos(k\theta-\phi_k),

:math:`R` = diameter / 2, :math:`A` = asymmetry, :math:`B` = border, random
phases :math:`\phi`, and an elongation :math:`e \sim U(0, 0.12)` that is
nuisance (an ellipse is still point-symmetric; odd harmonics are not). The
edge is softened over about half a pixel.

Colour. Skin is a random tone between light and medium with a gentle lighting
gradient. The lesion has a random brown base, a slightly darker centre, a
shading across it of strength :math:`0.3A` (darker on the side of the
:math:`k=1` bulge: the ABCD rule scores asymmetry of colour as well as of
shape), and
three Gaussian patches (one dark blue-black, one light reddish, one either)
whose strength is the colour factor :math:`C`. Pixel noise: about 1 % of the
brightness, the same in R, G and B.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from mmlearn.validation import check_positive_int, check_seed

FIELD_OF_VIEW_MM = 12.0
MIN_IMAGE_SIZE = 16

_SKIN_LIGHT = np.array([238.0, 204.0, 184.0])
_SKIN_MEDIUM = np.array([196.0, 146.0, 114.0])
_BROWN_LIGHT = np.array([160.0, 108.0, 78.0])
_BROWN_DARK = np.array([98.0, 62.0, 46.0])
_PATCH_DARK = np.array([42.0, 34.0, 52.0])  # blue-black
_PATCH_LIGHT = np.array([206.0, 132.0, 112.0])  # reddish-tan
_BORDER_HARMONICS = np.arange(6, 13)  # k = 6 ... 12


def check_image_size(image_size) -> int:
    """An image must be at least ``MIN_IMAGE_SIZE`` pixels wide to show a border."""
    check_positive_int(image_size, "image_size")
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be at least {MIN_IMAGE_SIZE} pixels to show a lesion, got {image_size}"
        )
    return image_size


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(N,) weights -> (N, 3) colours between ``a`` and ``b``."""
    return a[None, :] + t[:, None] * (b - a)[None, :]


def _sample_nuisance(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Everything about a picture that does not depend on the diagnosis, drawn in a fixed order."""
    return {
        "centre": rng.uniform(-0.8, 0.8, size=(n, 2)),  # mm
        "elongation": rng.uniform(0.0, 0.12, size=n),
        "phases": rng.uniform(
            0.0, 2 * np.pi, size=(n, 3 + len(_BORDER_HARMONICS))
        ),  # psi, phi1, phi3, phi6..10
        "skin": _lerp(_SKIN_LIGHT, _SKIN_MEDIUM, rng.random(n)),  # (N, 3)
        "base": _lerp(_BROWN_LIGHT, _BROWN_DARK, rng.random(n)),  # (N, 3)
        "light_dir": rng.uniform(0.0, 2 * np.pi, size=n),
        "light_gain": rng.uniform(0.0, 0.15, size=n),
        "patch_r": np.sqrt(rng.random((n, 3))),  # uniform over a disc
        "patch_angle": rng.uniform(0.0, 2 * np.pi, size=(n, 3)),
        "patch_sign": np.concatenate(
            [np.ones((n, 1)), -np.ones((n, 1)), rng.choice([-1.0, 1.0], size=(n, 1))], axis=1
        ),
    }


def _check_factor_arrays(asymmetry, border, colour, diameter_mm) -> tuple[np.ndarray, ...]:
    """The four factors as equally long, non-empty float64 arrays, each checked under its own name."""
    arrays = {}
    for name, v in (
        ("asymmetry", asymmetry),
        ("border", border),
        ("colour", colour),
        ("diameter_mm", diameter_mm),
    ):
        if v is None or isinstance(v, str | bytes):
            raise TypeError(f"{name} must be numbers (a list or array), got {v!r}")
        try:
            arrays[name] = np.asarray(v, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be numbers (a list or array), got {v!r}") from err
        if len(arrays[name]) == 0:
            raise ValueError(f"{name} is empty")
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the factor arrays must be equally long (one value per lesion), got {lengths}")
    for name in ("asymmetry", "border", "colour"):
        v = arrays[name]
        if not np.isfinite(v).all() or (v < 0).any() or (v > 1).any():
            raise ValueError(f"{name} must lie in [0, 1]")
    if not np.isfinite(arrays["diameter_mm"]).all() or (arrays["diameter_mm"] <= 0).any():
        raise ValueError("diameter_mm must be positive")
    return tuple(arrays.values())


def draw_lesions(
    asymmetry: np.ndarray,
    border: np.ndarray,
    colour: np.ndarray,
    diameter_mm: np.ndarray,
    rng: np.random.Generator,
    image_size: int = 32,
    *,
    same_nuisance: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one lesion per row of the factor arrays (each (N,)).

    Returns ``(images, masks)``: uint8 (N, 3, H, W) and float32 (N, H, W) in
    [0, 1], the soft lesion mask. Nuisance comes from ``rng``; with
    ``same_nuisance`` every row shares one draw of it (all but pixel noise),
    so only the factors differ between pictures.
    """
    check_image_size(image_size)
    a, b, c, d = _check_factor_arrays(asymmetry, border, colour, diameter_mm)
    n = len(a)
    if same_nuisance:
        nuisance = {k: np.repeat(v, n, axis=0) for k, v in _sample_nuisance(1, rng).items()}
    else:
        nuisance = _sample_nuisance(n, rng)
    f32 = np.float32
    centre = nuisance["centre"].astype(f32)

    # pixel grid in mm, centred on the image; broadcasting builds (N, H, W)
    px = FIELD_OF_VIEW_MM / image_size
    grid = ((np.arange(image_size) + 0.5) * px - FIELD_OF_VIEW_MM / 2).astype(f32)
    gy, gx = grid[None, :, None], grid[None, None, :]  # (1, H, 1), (1, 1, W)

    def col(v):  # (N,) -> (N, 1, 1), float32
        return np.asarray(v, dtype=f32)[:, None, None]

    def rgb(v):  # (N, 3) colours -> (N, 3, 1, 1), float32
        return np.asarray(v, dtype=f32)[:, :, None, None]

    dx = gx - col(centre[:, 0])  # (N, 1, W)
    dy = gy - col(centre[:, 1])  # (N, H, 1)
    rho = np.hypot(dx, dy)  # (N, H, W)
    safe = np.maximum(rho, f32(1e-6))
    unit = (dx / safe + 1j * (dy / safe)).astype(np.complex64)  # (N, H, W): e^{i theta}

    # outline r(theta) / R as a Fourier series: sum_k Re(coef_k e^{ik theta}), coef_k = amplitude e^{-i phase}
    phases = nuisance["phases"]
    coef = np.zeros((n, 1 + _BORDER_HARMONICS[-1]), dtype=np.complex64)  # (N, 13): k = 0 ... 12
    coef[:, 1] = 0.30 * a * np.exp(-1j * phases[:, 1])
    coef[:, 2] = nuisance["elongation"] * np.exp(-2j * phases[:, 0])
    coef[:, 3] = 0.35 * a * np.exp(-1j * phases[:, 2])
    coef[:, _BORDER_HARMONICS] = 0.09 * b[:, None] * np.exp(-1j * phases[:, 3:])
    shape = np.ones_like(rho)
    power = np.ones_like(unit)
    for k in range(1, coef.shape[1]):
        power = power * unit  # e^{ik theta}
        if np.any(coef[:, k]):
            shape += (col(coef[:, k].real) * power.real) - (col(coef[:, k].imag) * power.imag)
    radius = (d / 2).astype(f32)  # (N,) mm
    outline = col(radius) * np.maximum(shape, f32(0.2))  # (N, H, W): r(theta) in mm
    mask = expit((outline - rho) / f32(0.35 * px))  # (N, H, W) soft inside-ness

    # Colour: every pixel mixes four colours (skin, lesion base, dark patch, light patch) with
    # weights that sum to 1, so the picture is one batched matrix product: palette @ weights.
    centre_dark = 1 - f32(0.15) * np.exp(-0.5 * (rho / col(0.5 * radius)) ** 2)  # (N, H, W)
    # asymmetry in colour too: the side the outline bulges towards is darker, the other side lighter
    along = (dx * col(np.cos(phases[:, 1])) + dy * col(np.sin(phases[:, 1]))) / col(radius)  # (N, H, W)
    tone = centre_dark * (1 - col(0.3 * a) * np.clip(along, -1, 1))
    field = np.zeros_like(rho)  # (N, H, W): > 0 dark patch, < 0 light patch
    for j in range(3):
        offset = 0.55 * radius * nuisance["patch_r"][:, j]
        qx = centre[:, 0] + offset * np.cos(nuisance["patch_angle"][:, j])
        qy = centre[:, 1] + offset * np.sin(nuisance["patch_angle"][:, j])
        dist2 = (gx - col(qx)) ** 2 + (gy - col(qy)) ** 2
        field += col(nuisance["patch_sign"][:, j]) * np.exp(-dist2 / col(2 * (0.35 * radius) ** 2))
    dark = np.clip(field, 0, 1) * col(c)  # (N, H, W), at most the colour factor
    light = np.clip(-field, 0, 1) * col(c)
    weights = np.stack([1 - mask, mask * tone * (1 - dark - light), mask * dark, mask * light], axis=1)
    palette = np.stack(
        [nuisance["skin"], nuisance["base"], np.tile(_PATCH_DARK, (n, 1)), np.tile(_PATCH_LIGHT, (n, 1))],
        axis=2,
    ).astype(f32)  # (N, 3, 4)
    image = (palette @ weights.reshape(n, 4, -1)).reshape(n, 3, image_size, image_size)  # (N, 3, H, W)

    # a gentle lighting gradient and pixel noise (sd 3/255 of the brightness, the same in R, G and B)
    direction = nuisance["light_dir"]
    slope = (col(np.cos(direction)) * gx + col(np.sin(direction)) * gy) / f32(FIELD_OF_VIEW_MM)  # (N, H, W)
    shade = (
        1 + col(nuisance["light_gain"]) * slope + 3 * rng.standard_normal(size=mask.shape, dtype=f32) / 255
    )
    image *= shade[:, None]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), mask


def render_lesions(
    asymmetry,
    border,
    colour,
    diameter_mm,
    *,
    image_size: int = 32,
    seed: int = 0,
    same_nuisance: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Pictures for given factor values: uint8 (N, H, W, 3) images, ready for ``plt.imshow``,
    and float32 (N, H, W) lesion masks in [0, 1].

    For a lesson's "vary one factor" figure, e.g.
    ``render_lesions([0.2] * 5, [0.2] * 5, [0.2] * 5, [3, 4, 5, 6, 8], same_nuisance=True)``.
    """
    rng = np.random.default_rng(check_seed(seed))
    images, masks = draw_lesions(
        asymmetry, border, colour, diameter_mm, rng, image_size, same_nuisance=same_nuisance
    )
    return np.ascontiguousarray(images.transpose(0, 2, 3, 1)), masks
