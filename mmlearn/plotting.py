"""The course's figures: learning curves, confusion matrices, embeddings, retrieval, robustness.

Every lesson's figures, from lesson 01 on; each function names what it draws.

Each function draws on ``ax`` when one is given (so lessons can compose
panels) or on a new figure, and returns the ``Figure``; none calls
``plt.show()``. In Jupyter, assign the result (``fig = plot_...``) or end
the line with ``;``, otherwise the figure is shown twice.
Images may be torch tensors or NumPy arrays, (H, W), (C, H, W) or (H, W, C).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import ConfusionMatrixDisplay

from mmlearn.validation import to_numpy

__all__ = [
    "use_course_style",
    "plot_learning_curves",
    "plot_confusion_matrix",
    "plot_embedding",
    "plot_retrieval_grid",
    "plot_robustness_curves",
    "plot_attack_curves",
    "plot_reliability_diagram",
    "show_image_grid",
]

_MARKERS = ("o", "^", "s", "D", "v", "P", "X", "*")

COURSE_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "viridis",
    "savefig.bbox": "tight",
}


def use_course_style() -> None:
    """Readable font sizes, a light grid and no top/right spines for every later figure."""
    mpl.rcParams.update(COURSE_STYLE)


def _new_axes(ax, **subplot_kw):
    if ax is None:
        fig, ax = plt.subplots(**subplot_kw)
        return fig, ax
    return ax.figure, ax


# --- training ---------------------------------------------------------------------------------------------


def _history_dict(history) -> dict[str, list[float]]:
    data = history.to_dict() if hasattr(history, "to_dict") else dict(history)
    if not data.get("train_loss"):
        raise ValueError("a history needs a non-empty 'train_loss' list")
    return data


def plot_learning_curves(histories, axes=None) -> Figure:
    """Losses (left) and the other figures (right) per epoch, for one History or a dict ``{name: History}``.

    Training figures are dashed, validation figures solid; every figure a
    ``History`` holds is drawn (``train_accuracy``, ``val_recall_at_1``, ...).
    A history may also be a dict with the keys of ``History.to_dict()``.
    ``axes`` is an optional pair of Axes to draw on.
    """
    if hasattr(histories, "to_dict") or (isinstance(histories, Mapping) and "train_loss" in histories):
        histories = {"": histories}
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("pass a History, or a non-empty dict of name -> History")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    else:
        if len(axes) != 2:
            raise ValueError(f"axes must be a pair (loss, other figures), got {len(axes)} axes")
        fig = axes[0].figure
    loss_ax, score_ax = axes
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, history) in enumerate(histories.items()):
        data = _history_dict(history)
        color = colors[i % len(colors)]
        epochs = np.arange(1, len(data["train_loss"]) + 1)
        prefix = f"{name}: " if name else ""
        for key, values in data.items():
            if key == "lr" or not values:
                continue
            ax = loss_ax if key.endswith("loss") else score_ax
            style = "--" if key.startswith("train_") else "-"
            ax.plot(epochs, values, color=color, linestyle=style, label=prefix + key.replace("_", " "))
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss (dashed: training)")
    score_ax.set(xlabel="epoch", ylabel="score", title="Scores (dashed: training, solid: validation)")
    loss_ax.legend()
    if score_ax.lines:
        score_ax.legend()
    return fig


def plot_confusion_matrix(
    matrix, class_names: Sequence[str] | None = None, ax=None, title: str = ""
) -> Figure:
    """A (C, C) confusion matrix (rows = true class), drawn by scikit-learn's ``ConfusionMatrixDisplay``."""
    matrix = to_numpy(matrix, "matrix")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square (C, C), got shape {matrix.shape}")
    if class_names is not None and len(class_names) != len(matrix):
        raise ValueError(f"{len(class_names)} class names for a {len(matrix)}-class matrix")
    fig, ax = _new_axes(ax)
    fmt = "d" if np.issubdtype(matrix.dtype, np.integer) else ".2f"
    ConfusionMatrixDisplay(matrix, display_labels=class_names).plot(
        ax=ax, colorbar=False, cmap="Blues", values_format=fmt
    )
    ax.grid(False)
    if title:
        ax.set_title(title)
    return fig


def plot_reliability_diagram(probs, targets, n_bins: int = 10, ax=None, title: str = "") -> Figure:
    """Accuracy against confidence per bin, with the diagonal of perfect calibration and the ECE."""
    from mmlearn.metrics import expected_calibration_error, reliability_bins

    bins = reliability_bins(probs, targets, n_bins)
    ece = expected_calibration_error(probs, targets, n_bins)
    fig, ax = _new_axes(ax)
    edges = bins["edges"]
    filled = bins["count"] > 0
    left, width = edges[:-1][filled], np.diff(edges)[filled]
    ax.bar(
        left,
        bins["accuracy"][filled],
        width=width,
        align="edge",
        edgecolor="black",
        alpha=0.7,
        label="accuracy",
    )
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", label="perfect calibration")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy")
    ax.set_title(f"{title} (ECE {ece:.3f})" if title else f"ECE {ece:.3f}")
    ax.legend(loc="upper left")
    return fig


# --- embeddings -------------------------------------------------------------------------------------------


def _project(x: np.ndarray, method: str, seed: int) -> np.ndarray:
    """(N, D) -> (N, 2) with scikit-learn's PCA or t-SNE."""
    if x.shape[1] == 2:
        return x
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        if len(x) < 5:
            raise ValueError(f"t-SNE needs at least 5 points, got {len(x)}")
        perplexity = min(30.0, (len(x) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def plot_embedding(
    features,
    labels=None,
    *,
    method: str = "pca",
    ax=None,
    seed: int = 0,
    connect_pairs: bool = False,
    class_names: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """Scatter features in 2-D: colour = label, marker = modality.

    ``features`` is an (N, D) array with ``labels`` (N,), or a dict
    ``{modality: (N_m, D)}`` with ``labels`` either one (N,) array shared by
    all modalities or a dict ``{modality: labels}``. All modalities are
    projected together (``method`` "pca" or "tsne"), so distances between
    them are comparable. ``connect_pairs`` draws a line between row i of
    each of two modalities (the pairs a shared space should bring together).
    """
    if not isinstance(features, Mapping):
        features = {"": features}
    if not features:
        raise ValueError("features is empty")
    if len(features) > len(_MARKERS):
        raise ValueError(f"at most {len(_MARKERS)} modalities can be told apart by marker")
    feats = {name: to_numpy(f, f"features['{name}']").astype(np.float64) for name, f in features.items()}
    dims = {f.shape[1] if f.ndim == 2 else None for f in feats.values()}
    if len(dims) != 1 or None in dims:
        shapes = {k: v.shape for k, v in feats.items()}
        raise ValueError(f"every feature array must be 2-D (N, D) with the same D, got shapes {shapes}")
    if labels is None:
        labs = {name: np.zeros(len(f), dtype=np.int64) for name, f in feats.items()}
    elif isinstance(labels, Mapping):
        labs = {name: to_numpy(labels[name], f"labels['{name}']") for name in feats}
    else:
        labs = {name: to_numpy(labels, "labels") for name in feats}
    for name, f in feats.items():
        if len(labs[name]) != len(f):
            raise ValueError(f"modality '{name}' has {len(f)} rows but {len(labs[name])} labels")
    if connect_pairs and (len(feats) != 2 or len({len(f) for f in feats.values()}) != 1):
        raise ValueError("connect_pairs needs exactly two modalities with the same number of rows")

    stacked = np.concatenate(list(feats.values()))
    if not np.isfinite(stacked).all():
        raise ValueError("features contain NaN or infinite values")
    points = _project(stacked, method, seed)
    parts = np.split(points, np.cumsum([len(f) for f in feats.values()])[:-1])

    classes = np.unique(np.concatenate(list(labs.values())))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    color_of = {c: cmap(i % cmap.N) for i, c in enumerate(classes)}
    fig, ax = _new_axes(ax)
    if connect_pairs:
        a, b = parts
        ax.add_collection(LineCollection(np.stack([a, b], axis=1), colors="gray", linewidths=0.5, alpha=0.4))
    for lab, xy, marker in zip(labs.values(), parts, _MARKERS, strict=False):
        ax.scatter(xy[:, 0], xy[:, 1], c=[color_of[c] for c in lab], marker=marker, s=18, alpha=0.8)
    handles = []
    if labels is not None and len(classes) <= 20:
        for c in classes:
            label = class_names[int(c)] if class_names is not None else str(c)
            handles.append(Line2D([], [], marker="o", linestyle="", color=color_of[c], label=label))
    if len(feats) > 1:
        for name, marker in zip(feats, _MARKERS, strict=False):
            handles.append(Line2D([], [], marker=marker, linestyle="", color="gray", label=name))
    if handles:
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set(xlabel=f"{method.upper()} 1", ylabel=f"{method.upper()} 2", title=title)
    return fig


# --- images -----------------------------------------------------------------------------------------------


def _image(img) -> tuple[np.ndarray, str | None]:
    """One image as an (H, W) or (H, W, 3) array in [0, 1] for imshow, and the colour map to use."""
    x = to_numpy(img, "image")
    if x.ndim == 3 and x.shape[0] in (1, 3) and x.shape[-1] not in (1, 3):
        x = np.moveaxis(x, 0, -1)  # (C, H, W) -> (H, W, C)
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] != 3):
        raise ValueError(f"an image must be (H, W), (C, H, W) or (H, W, C) with C = 1 or 3, got {x.shape}")
    if np.issubdtype(x.dtype, np.integer):
        x = x / 255.0
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("an image contains NaN or infinite values")
    if x.min() < 0 or x.max() > 1:  # normalised images: stretch to [0, 1] for display
        x = (x - x.min()) / max(x.max() - x.min(), 1e-12)
    return x, ("gray" if x.ndim == 2 else None)


def _draw_image(ax, img, title: str | None = None, color: str | None = None) -> None:
    x, cmap = _image(img)
    ax.imshow(x, cmap=cmap, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=9, color=color or "black")
    if color:
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color(color)
            spine.set_linewidth(3)


def show_image_grid(
    images, titles: Sequence[str] | None = None, ncols: int = 8, scale: float = 1.5
) -> Figure:
    """Images in a grid of ``ncols`` columns, with optional titles; unused cells are blank."""
    if isinstance(images, torch.Tensor | np.ndarray):
        if images.ndim < 3:
            raise ValueError(f"images must be a batch (N, ...), got shape {tuple(images.shape)}")
    images = list(images)
    if not images:
        raise ValueError("images is empty")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(scale * ncols, scale * nrows + 0.3 * nrows), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        if i < len(images):
            _draw_image(ax, images[i], titles[i] if titles is not None else None)
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig


def plot_retrieval_grid(
    queries,
    retrieved,
    correct=None,
    query_titles: Sequence[str] | None = None,
    scale: float = 1.6,
) -> Figure:
    """One row per query: the query, then what the model retrieved for it, best first.

    ``queries`` are images (Q, ...) or caption strings. ``retrieved`` is
    either images (Q, K, ...) or, for image -> text retrieval, a list of Q
    lists of K captions. ``correct`` (Q, K) booleans colour each hit green
    and each miss red.
    """
    queries = list(queries)
    retrieved = list(retrieved)
    if not queries:
        raise ValueError("queries is empty")
    if len(retrieved) != len(queries):
        raise ValueError(f"{len(queries)} queries but {len(retrieved)} rows of retrieved items")
    k = len(retrieved[0])
    if k == 0 or any(len(row) != k for row in retrieved):
        raise ValueError("every query needs the same, non-zero number of retrieved items")
    if correct is not None:
        correct = to_numpy(correct, "correct").astype(bool)
        if correct.shape != (len(queries), k):
            raise ValueError(f"correct must be ({len(queries)}, {k}), got {correct.shape}")
    text_results = isinstance(retrieved[0][0], str)
    ncols = 2 if text_results else k + 1
    width = [1, 3] if text_results else [1] * ncols
    fig, axes = plt.subplots(
        len(queries),
        ncols,
        figsize=(scale * (sum(width) + 0.5), scale * len(queries)),
        squeeze=False,
        gridspec_kw={"width_ratios": width},
    )
    for q, row in enumerate(axes):
        query_ax = row[0]
        title = query_titles[q] if query_titles is not None else "query"
        if isinstance(queries[q], str):
            query_ax.axis("off")
            query_ax.text(0.5, 0.5, queries[q], ha="center", va="center", wrap=True, fontsize=9)
            query_ax.set_title(title, fontsize=9)
        else:
            _draw_image(query_ax, queries[q], title)
            for spine in query_ax.spines.values():  # a thin frame: a scene's white background meets the page
                spine.set_visible(True)
                spine.set_color("gray")
                spine.set_linewidth(1)
        if text_results:
            ax = row[1]
            ax.axis("off")
            for j, caption in enumerate(retrieved[q]):
                color = None if correct is None else ("green" if correct[q, j] else "red")
                y = 1 - (j + 0.5) / k
                ax.text(0.0, y, f"{j + 1}. {caption}", va="center", fontsize=9, color=color or "black")
        else:
            for j in range(k):
                color = None if correct is None else ("green" if correct[q, j] else "red")
                _draw_image(row[j + 1], retrieved[q][j], f"#{j + 1}", color)
    fig.tight_layout()
    return fig


# --- robustness -------------------------------------------------------------------------------------------


def plot_robustness_curves(
    levels,
    curves: Mapping[str, Sequence[float]],
    ax=None,
    chance: float | None = None,
    xlabel: str = "corruption level",
    ylabel: str = "accuracy",
    title: str = "",
    references: Mapping[str, float] | None = None,
) -> Figure:
    """Accuracy against corruption level, one line per method (lesson 02, section 4).

    Each curve gets its own marker and line style, so curves that coincide
    stay visible. ``references`` ({label: accuracy}) adds dashed horizontal
    lines, e.g. what the untouched modality alone achieves; ``chance`` adds a
    dotted baseline.
    """
    levels = to_numpy(levels, "levels")
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty dict of method name -> accuracies")
    if references is not None and not isinstance(references, Mapping):
        raise TypeError(f"references must be a dict of label -> accuracy, got {type(references).__name__}")
    fig, ax = _new_axes(ax)
    styles = ("-", "--", "-.")
    for i, (name, accs) in enumerate(curves.items()):
        accs = to_numpy(accs, f"curves['{name}']")
        if accs.shape != levels.shape:
            raise ValueError(f"curve '{name}' has {accs.shape} values for {levels.shape} levels")
        ax.plot(
            levels,
            accs,
            marker=_MARKERS[i % len(_MARKERS)],
            linestyle=styles[i % len(styles)],
            markersize=5,
            label=name,
        )
    for i, (name, value) in enumerate((references or {}).items()):
        value = float(to_numpy(value, f"references['{name}']"))
        ax.axhline(
            value, color=("black", "dimgray", "darkgray")[i % 3], linestyle="--", linewidth=1.5, label=name
        )
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle=":", label="chance")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    return fig


def plot_attack_curves(
    epsilons,
    curves: Mapping[str, Sequence[float]],
    *,
    train_epsilon: float | None = None,
    chance: float | None = None,
    unit: str = "input units",
    title: str = "Accuracy under attack",
    ax=None,
) -> Figure:
    """Accuracy against the attack's radius epsilon, one line per model (lesson 05, section 6).

    ``train_epsilon`` draws a dashed vertical line where adversarial training
    worked; ``chance`` a dotted horizontal line. ``unit`` names epsilon's unit
    on the x axis, e.g. "MFCC units, standardised".
    """
    epsilons = to_numpy(epsilons, "epsilons")
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty dict of model name -> accuracies")
    fig, ax = _new_axes(ax, figsize=(6.4, 4.0))
    for i, (name, accs) in enumerate(curves.items()):
        accs = to_numpy(accs, f"curves['{name}']")
        if accs.shape != epsilons.shape:
            raise ValueError(f"curve '{name}' has {accs.shape} values for {epsilons.shape} epsilons")
        ax.plot(epsilons, accs, marker=_MARKERS[i % len(_MARKERS)], label=name)
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle=":", label=f"chance ({chance:g})")
    if train_epsilon is not None:
        ax.axvline(train_epsilon, color="black", linestyle="--", linewidth=1,
                   label=f"training epsilon ({train_epsilon:g})")  # fmt: skip
    ax.set(xlabel=f"epsilon ({unit})", ylabel="test accuracy", title=title, ylim=(0, 1.02))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # below the axes: no line crosses it
    return fig
