"""Figures of the captioning lesson: captions under their scenes, and attention maps word by word.

Taught in lesson 06 (sections 5, "Two scores: BLEU and the fact score", and 7, "Where the model
looks: attention for each word").

Like ``mmlearn.plotting``, each function returns the ``Figure`` and never
calls ``plt.show()``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from mmlearn.validation import to_numpy

__all__ = ["show_captioned_scenes", "plot_word_attention"]

RIGHT, WRONG = "#1a7f37", "#c0392b"  # green and red, each with its word: colour is not the only cue


def _rgb(image) -> np.ndarray:
    """(3, H, W) uint8 or float image -> (H, W, 3) floats in [0, 1]."""
    x = image.detach().cpu() if isinstance(image, torch.Tensor) else torch.as_tensor(image)
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"an image must be (3, H, W), got shape {tuple(x.shape)}")
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    return x.permute(1, 2, 0).clamp(0, 1).numpy()


def show_captioned_scenes(
    images,
    captions: Sequence[str],
    right: Sequence[bool] | None = None,
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    width: int = 26,
    suptitle: str = "",
) -> Figure:
    """Scenes in a grid, each with its caption written under it.

    ``right[i]`` (optional) marks caption i as true of its scene or not: the
    caption is then prefixed "right:" or "wrong:" and drawn in green or red.
    ``titles`` go above the images; ``width`` is the caption's line length
    in characters.
    """
    if isinstance(captions, str) or not all(isinstance(c, str) for c in captions):
        raise TypeError(f"captions must be a list of strings, one per image, got {captions!r:.60}")
    n = len(captions)
    if n == 0:
        raise ValueError("captions is empty: give one caption per image")
    if len(images) != n:
        raise ValueError(f"images has {len(images)} images but captions has {n}")
    if right is not None and len(right) != n:
        raise ValueError(f"right has {len(right)} entries but captions has {n}")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles has {len(titles)} entries but captions has {n}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer (characters per line), got {width!r}")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.5 * ncols, 3.6 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for i, caption in enumerate(captions):
        ax = axes.flat[i]
        ax.imshow(_rgb(images[i]), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():  # a full frame shows the canvas's edge on a white background
            spine.set_visible(True)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
        text, color = caption, "black"
        if right is not None:
            text = ("right: " if right[i] else "wrong: ") + caption
            color = RIGHT if right[i] else WRONG
        ax.set_xlabel("\n".join(textwrap.wrap(text, width)), fontsize=9, color=color)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_word_attention(
    image, words: Sequence[str], weights, *, stride: float | None = None, ncols: int = 6, title: str = ""
) -> Figure:
    """The attention weights of each generated word, drawn over the image.

    ``weights`` is (T, R) with R = g * g regions in row order (a g x g grid);
    panel t shows the image with the weights of word t as a heat map over it
    (brighter = more weight) and the word above it. Region (i, j) is drawn
    as a square centred on pixel (``stride`` * i, ``stride`` * j), the
    centre of a CNN cell's receptive field (``RegionEncoder.stride``); with
    ``stride=None`` the g x g squares tile the image evenly.
    """
    w = to_numpy(weights, "weights")
    if w.ndim != 2:
        raise ValueError(f"weights must be (T, R), one row per word, got shape {w.shape}")
    if (
        isinstance(words, str)
        or not isinstance(words, Sequence)
        or not all(isinstance(x, str) for x in words)
    ):
        raise TypeError(f"words must be a list of strings, one per row of weights, got {words!r}")
    if len(words) != w.shape[0]:
        raise ValueError(f"words has {len(words)} words but weights has {w.shape[0]} rows")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {title!r}")
    grid = int(round(np.sqrt(w.shape[1])))
    if grid * grid != w.shape[1]:
        raise ValueError(f"weights must cover a square grid of regions, got R = {w.shape[1]}")
    rgb = _rgb(image)
    size = rgb.shape[0]
    if stride is None:
        low, high = 0.0, float(size)
    else:
        if isinstance(stride, bool) or not isinstance(stride, int | float) or not 0 < stride < float("inf"):
            raise ValueError(f"stride must be a positive number of pixels or None, got {stride!r}")
        low, high = -stride / 2, grid * stride - stride / 2
    ncols = min(ncols, len(words))
    nrows = -(-len(words) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.9 * ncols, 2.1 * nrows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    top = float(w.max())
    for t, word in enumerate(words):
        ax = axes.flat[t]
        ax.imshow(rgb, interpolation="nearest", extent=(0, size, size, 0))
        im = ax.imshow(
            w[t].reshape(grid, grid), cmap="magma", alpha=0.55, vmin=0.0, vmax=top, interpolation="nearest",
            extent=(low, high, high, low),
        )  # fmt: skip
        ax.set_xlim(0, size)
        ax.set_ylim(size, 0)
        ax.set_title(repr(word), fontsize=10)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
    if title:
        fig.suptitle(title)
    return fig
