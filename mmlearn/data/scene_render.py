"""Sort-of-CLEVR scenes: coloured squares, circles and triangles on a plain canvas.

Taught in lesson 01 (section 1, "Images"); the scenes of lessons 03, 04, 06 and 07 are drawn here.

Santoro et al. (2017, Sec. 5.3 and Supplement D) built Sort-of-CLEVR to test
relational reasoning without the cost of real CLEVR renders: 75x75 images,
six objects, one per colour, each a square or a circle, never overlapping.
The public generator draws one object at a time with OpenCV and keeps float64
pickles; here every scene is drawn at once with numpy and kept as uint8,
about 30 times faster and 8 times smaller.

Conventions used by the whole ``scene_*`` family:

- Images are ``uint8`` tensors of shape (N, 3, size, size), RGB, values 0-255.
  The background is white by default (as in the public generator); pass
  ``background="black"`` for a black canvas.
- Every object fills a tile of (2 * half_size + 1) pixels square centred on
  its centre: a square fills the whole tile, a circle the pixels within
  ``sqrt(half_size**2 + half_size)`` of the centre (a disc that looks round at
  5 px), a triangle points upwards. With the paper's half-size of 5 a square
  is 11x11 px.
- Tiles never touch: the centres of two objects are at least
  ``2 * half_size + 2`` pixels apart along x or y, so there is always a line of
  background between two objects and no pixel is shared.
- Centres are (x, y) = (column, row) pixel coordinates, measured from the top
  left corner; y grows downwards, so a small y is near the top.
- Objects are stored in colour order within a scene. Scenes with fewer
  objects than others pad the per-object arrays with -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from mmlearn.validation import OutOfRangeError, check_index, check_positive_int, check_seed

# Colour names and their RGB values, in id order (id = index).
COLORS = ("red", "green", "blue", "orange", "yellow", "gray")
PALETTE = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 156, 0], [255, 255, 0], [128, 128, 128]], dtype=np.uint8
)  # (6, 3)
# Shape names in id order. The paper uses the first two; triangles are an option for captioning.
SHAPES = ("square", "circle", "triangle")
BACKGROUNDS = {"white": 255, "black": 0}
HALF_SIZE = 5  # the paper's object size: 11x11 px squares


@dataclass(frozen=True)
class Scenes:
    """A batch of rendered scenes with their per-object metadata.

    ``images`` is (N, 3, size, size) uint8; ``colors`` and ``shapes`` are (N, K)
    int64 ids into ``COLORS`` and ``SHAPES``; ``centers`` is (N, K, 2) int64
    (x, y) pixels. K is the most objects a scene may hold (``n_objects``); missing
    objects are -1 in all three arrays.
    """

    images: torch.Tensor  # (N, 3, S, S) uint8
    colors: torch.Tensor  # (N, K) int64, -1 = no object
    shapes: torch.Tensor  # (N, K) int64, -1 = no object
    centers: torch.Tensor  # (N, K, 2) int64 (x, y), -1 = no object
    half_size: int = HALF_SIZE
    background: str = "white"

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def size(self) -> int:
        """Side of the square canvas in pixels."""
        return self.images.shape[-1]

    @property
    def n_objects(self) -> torch.Tensor:
        """Number of objects in each scene, shape (N,)."""
        return (self.colors >= 0).sum(dim=1)

    def subset(self, index) -> Scenes:
        """The scenes at ``index`` (a list, tensor or slice), as a new ``Scenes``."""
        if isinstance(index, int) and not isinstance(index, bool):
            index = [index]  # keep the batch dimension
        if not isinstance(index, slice):
            index = check_index(index, len(self))
        return Scenes(
            self.images[index],
            self.colors[index],
            self.shapes[index],
            self.centers[index],
            self.half_size,
            self.background,
        )

    def describe(self, i: int) -> str:
        """A plain-text list of the objects in scene ``i`` (for printing in a lesson)."""
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"i must be a scene index (an int), got {i!r}")
        if not 0 <= i < len(self):
            raise OutOfRangeError(f"scene index i={i} is out of range for {len(self)} scenes")
        parts = []
        for color, shape, (x, y) in zip(
            self.colors[i].tolist(), self.shapes[i].tolist(), self.centers[i].tolist(), strict=True
        ):
            if color >= 0:
                parts.append(f"{COLORS[color]} {SHAPES[shape]} at (x={x}, y={y})")
        return "; ".join(parts)


def names_to_ids(names: Sequence[str], known: Sequence[str], what: str) -> np.ndarray:
    """Map names such as ("red", "blue") to their ids in ``known``, with clear errors."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise TypeError(f"{what} must be a list or tuple of names such as {tuple(known[:2])}, got {names!r}")
    if len(names) == 0:
        raise ValueError(f"{what} is empty: give at least one of {list(known)}")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise KeyError(f"unknown {what} {unknown}; expected some of {list(known)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} has duplicates: {list(names)}")
    return np.array([known.index(name) for name in names], dtype=np.int64)


def shape_masks(half_size: int) -> np.ndarray:
    """Boolean pixel masks of every shape in ``SHAPES``, shape (n_shapes, T, T) with T = 2h + 1."""
    check_positive_int(half_size, "half_size")
    offsets = np.arange(-half_size, half_size + 1)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")  # (T, T) row and column offsets from the centre
    square = np.ones(dy.shape, dtype=bool)
    circle = dy**2 + dx**2 <= half_size**2 + half_size
    triangle = 2 * np.abs(dx) <= dy + half_size  # apex at the top row, base on the bottom row
    return np.stack([square, circle, triangle])


def object_tiles(half_size: int, background: str) -> np.ndarray:
    """Every (colour, shape) object as a small RGB tile, shape (n_colors, n_shapes, 3, T, T) uint8."""
    masks = shape_masks(half_size)[None, :, None]  # (1, n_shapes, 1, T, T)
    colors = PALETTE[:, None, :, None, None]  # (n_colors, 1, 3, 1, 1)
    return np.where(masks, colors, np.uint8(BACKGROUNDS[background])).astype(np.uint8)


def scene_rng(seed: int, stream: int) -> np.random.Generator:
    """A random generator for one step of the pipeline: scenes (0), questions (1), captions (2).

    Each step gets its own stream of the same seed, so the questions do not
    reuse the random numbers that placed the objects.
    """
    return np.random.default_rng([check_seed(seed), check_seed(stream, "stream")])


def max_objects_for(size: int, half_size: int) -> int:
    """How many objects always fit on the canvas when placed one after another at random.

    Each placed object forbids the centres within ``min_gap - 1`` pixels of its own
    along both axes, a (2 * min_gap - 1)^2 square. While those squares do not
    cover all (size - 2h)^2 possible centres, the next object always has room.
    """
    size, half_size = check_positive_int(size, "size"), check_positive_int(half_size, "half_size")
    min_gap = 2 * half_size + 2
    free = max(size - 2 * half_size, 0) ** 2  # possible centres; none when one object does not fit
    blocked = (2 * min_gap - 1) ** 2
    return (free - 1) // blocked + 1


def _check_counts(n_objects, n_colors: int) -> tuple[int, int]:
    """``n_objects`` is an int or an inclusive (low, high) range."""
    if isinstance(n_objects, tuple | list) and len(n_objects) == 2:
        low, high = n_objects
    else:
        low = high = n_objects
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"n_objects must be an int or a (low, high) pair of ints, got {n_objects!r}")
    if not 1 <= low <= high:
        raise ValueError(f"n_objects must be at least 1 (and low <= high), got {n_objects!r}")
    if high > n_colors:
        raise ValueError(
            f"n_objects={n_objects!r} but only {n_colors} colours are allowed: one object per colour"
        )
    return int(low), int(high)


def place_objects(
    rng: np.random.Generator, counts: np.ndarray, k_max: int, size: int, half_size: int
) -> np.ndarray:
    """Random non-touching centres, shape (N, k_max, 2) int64 (x, y), -1 where a scene has fewer objects.

    Objects are placed one after another, for all scenes at once: draw a
    centre for the k-th object of every scene that still needs one, keep the
    draws whose tile is clear of the objects already placed, redraw the rest.
    The result is spread over the whole canvas, with no grid.
    """
    n = counts.shape[0]
    min_gap = 2 * half_size + 2  # Chebyshev distance between centres: tiles never touch
    centers = np.full((n, k_max, 2), -1, dtype=np.int64)
    for k in range(k_max):
        todo = np.flatnonzero(counts > k)  # scenes that need a k-th object
        while todo.size:
            candidate = rng.integers(half_size, size - half_size, size=(todo.size, 2))  # (T, 2)
            gap = np.abs(centers[todo, :k] - candidate[:, None]).max(axis=2)  # (T, k)
            ok = (gap >= min_gap).all(axis=1)  # (T,)
            centers[todo[ok], k] = candidate[ok]
            todo = todo[~ok]
    return centers


def render(
    colors: np.ndarray, shapes: np.ndarray, centers: np.ndarray, size: int, half_size: int, background: str
):
    """Draw all scenes at once, returning (N, 3, size, size) uint8.

    Tiles never overlap, so each object can be pasted as its whole
    (2h+1)x(2h+1) tile, background corners included. ``sliding_window_view``
    shows the canvas as one tile-sized window per possible top-left corner,
    and a single indexed assignment pastes every object of every scene.
    """
    n = colors.shape[0]
    images = np.full((n, 3, size, size), BACKGROUNDS[background], dtype=np.uint8)
    t = 2 * half_size + 1
    windows = sliding_window_view(images, (t, t), axis=(2, 3), writeable=True)  # (N, 3, S-t+1, S-t+1, t, t)
    scene, slot = np.nonzero(colors >= 0)  # one entry per object
    x, y = centers[scene, slot, 0], centers[scene, slot, 1]
    tiles = object_tiles(half_size, background)[colors[scene, slot], shapes[scene, slot]]  # (P, 3, t, t)
    windows[scene, :, y - half_size, x - half_size] = tiles
    return images


def make_scenes(
    n: int,
    *,
    seed: int = 0,
    n_objects: int | tuple[int, int] = 6,
    shapes: Sequence[str] = ("square", "circle"),
    colors: Sequence[str] = COLORS,
    size: int = 75,
    half_size: int = HALF_SIZE,
    background: str = "white",
) -> Scenes:
    """Generate ``n`` Sort-of-CLEVR scenes, deterministic per ``seed``.

    ``n_objects`` is a count or an inclusive (low, high) range drawn uniformly
    per scene; each object gets a different colour from ``colors`` (chosen at
    random when there are fewer objects than colours) and a uniformly random
    shape from ``shapes``. The defaults are the paper's: 6 objects of 6
    colours, squares and circles, 75x75 px, 11x11 px objects.
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size")
    half_size = check_positive_int(half_size, "half_size")
    if half_size < 2:
        raise ValueError(f"half_size must be at least 2 so shapes can be told apart, got {half_size}")
    if background not in BACKGROUNDS:
        raise KeyError(f"unknown background {background!r}; expected one of {list(BACKGROUNDS)}")
    color_ids = names_to_ids(colors, COLORS, "colors")
    shape_ids = names_to_ids(shapes, SHAPES, "shapes")
    low, high = _check_counts(n_objects, len(color_ids))
    if size < 2 * half_size + 1:
        raise ValueError(f"size={size} is smaller than one object ({2 * half_size + 1} px)")
    fit = max_objects_for(size, half_size)
    if high > fit:
        raise ValueError(
            f"{high} objects of half-size {half_size} do not reliably fit on a {size}x{size} canvas "
            f"(at most {fit}); use a larger size, a smaller half_size or fewer objects"
        )

    rng = scene_rng(seed, 0)
    counts = rng.integers(low, high + 1, size=n)  # (N,) objects per scene
    # A random order of the allowed colours per scene; slot k gets the k-th colour.
    order = rng.random((n, len(color_ids))).argsort(axis=1)[:, :high]  # (N, K)
    scene_colors = color_ids[order]
    scene_shapes = shape_ids[rng.integers(0, len(shape_ids), size=(n, high))]
    centers = place_objects(rng, counts, high, size, half_size)

    # Drop the slots a scene does not use, then sort each scene's objects by colour id.
    empty = np.arange(high)[None, :] >= counts[:, None]  # (N, K)
    scene_colors[empty] = -1
    scene_shapes[empty] = -1
    by_color = np.where(empty, len(COLORS), scene_colors).argsort(axis=1, kind="stable")
    scene_colors = np.take_along_axis(scene_colors, by_color, axis=1)
    scene_shapes = np.take_along_axis(scene_shapes, by_color, axis=1)
    centers = np.take_along_axis(centers, by_color[:, :, None], axis=1)

    images = render(scene_colors, scene_shapes, centers, size, half_size, background)
    return Scenes(
        torch.from_numpy(images),
        torch.from_numpy(scene_colors),
        torch.from_numpy(scene_shapes),
        torch.from_numpy(centers),
        half_size,
        background,
    )
