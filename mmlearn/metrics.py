"""The numbers each lesson reports: accuracy, retrieval recall@k, AUROC, calibration.

Taught in lesson 02 (accuracy), lesson 03 (section 2, recall@k) and lesson 04 (retrieval); later
lessons add theirs.

Classification metrics wrap scikit-learn; retrieval and calibration, which
scikit-learn does not cover in the form the lessons need, are written here
with their conventions spelled out. Every function accepts torch tensors or
NumPy arrays and returns plain Python floats (or NumPy arrays), and refuses
empty, mismatched or NaN inputs instead of returning a quiet wrong number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from sklearn import metrics as skm

from mmlearn.validation import check_tensor, to_numpy

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "confusion_matrix",
    "auroc",
    "retrieval_ranks",
    "recall_at_k",
    "retrieval_report",
    "chance_recall_at_k",
    "reliability_bins",
    "expected_calibration_error",
    "accuracy_by_question_type",
    "posterior_report",
]


def _targets(targets, n: int | None = None, *, num_classes: int | None = None, against: str = "predictions"):
    """Class labels: a 1-D integer array (of length ``n``, the rows of ``against``, when given).

    With ``num_classes`` (the width of the scores) every label must lie in
    [0, num_classes): a label the scores cannot predict would be scored as a
    quiet miss.
    """
    y = to_numpy(targets, "targets")
    if y.ndim != 1:
        raise ValueError(f"targets must be 1-D class indices, got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
        raise TypeError(f"targets must hold integer class indices, got dtype {y.dtype}")
    if n is not None and len(y) != n:
        raise ValueError(f"{against} has {n} rows but targets has {len(y)}")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise ValueError(f"targets must be class indices >= 0, got {y.min()}")
    if num_classes is not None and y.max() >= num_classes:
        raise ValueError(
            f"targets go up to {y.max()} but {against} scores {num_classes} classes (0 to {num_classes - 1})"
        )
    return y


def _predictions(logits_or_predictions, name: str = "logits_or_predictions") -> tuple[np.ndarray, int | None]:
    """(N, C) scores -> (argmax over classes, C); (N,) integers -> (used as they are, None)."""
    x = to_numpy(logits_or_predictions, name)
    if x.ndim == 2:
        return x.argmax(axis=1), x.shape[1]
    if x.ndim == 1 and (np.issubdtype(x.dtype, np.integer) or x.dtype == bool):
        if x.min() < 0:
            raise ValueError(f"{name} must be class indices >= 0, got {x.min()}")
        return x.astype(np.int64), None
    raise ValueError(
        f"{name} must be (N, C) scores (logits or probabilities) or (N,) integer predictions, "
        f"got shape {x.shape} and dtype {x.dtype}"
    )


def accuracy(logits_or_predictions, targets) -> float:
    """Fraction of correct predictions, from (N, C) logits/probabilities or (N,) class indices."""
    pred, num_classes = _predictions(logits_or_predictions)
    y = _targets(targets, len(pred), num_classes=num_classes, against="logits_or_predictions")
    return float((pred == y).mean())


def balanced_accuracy(logits_or_predictions, targets) -> float:
    """Mean recall over classes (scikit-learn's ``balanced_accuracy_score``): fair on imbalanced data."""
    pred, num_classes = _predictions(logits_or_predictions)
    y = _targets(targets, len(pred), num_classes=num_classes, against="logits_or_predictions")
    return float(skm.balanced_accuracy_score(y, pred))


def confusion_matrix(
    logits_or_predictions, targets, num_classes: int | None = None, normalize: str | None = None
) -> np.ndarray:
    """(C, C) matrix, rows = true class, columns = predicted class (scikit-learn's convention).

    ``num_classes`` defaults to the width of the logits, or to the largest
    class index seen + 1. ``normalize`` is scikit-learn's: None (counts),
    "true" (rows sum to 1), "pred" or "all".
    """
    pred, width = _predictions(logits_or_predictions)
    y = _targets(targets, len(pred), against="logits_or_predictions")
    if num_classes is None:
        num_classes = width if width is not None else int(max(pred.max(), y.max())) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer or None, got {num_classes!r}")
    if max(pred.max(), y.max()) >= num_classes:
        raise ValueError(
            f"class indices must lie in [0, {num_classes - 1}] for num_classes={num_classes}: "
            f"targets go up to {y.max()}, logits_or_predictions up to {pred.max()}"
        )
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    return skm.confusion_matrix(y, pred, labels=np.arange(num_classes), normalize=normalize)


def auroc(scores, targets) -> float:
    """Area under the ROC curve (scikit-learn's ``roc_auc_score``).

    Binary: ``scores`` is (N,) scores for the positive class, or (N, 2)
    probabilities (column 1 is used). Multi-class: (N, C) probabilities whose
    rows sum to 1, scored one-vs-rest and macro-averaged.
    """
    s = to_numpy(scores, "scores").astype(np.float64)
    width = s.shape[1] if s.ndim == 2 and s.shape[1] > 1 else None
    y = _targets(targets, len(s), num_classes=width, against="scores")
    if s.ndim == 2 and s.shape[1] in (1, 2):
        s = s[:, -1]  # (N, 1) positive scores, or column 1 of (N, 2) probabilities
    if len(np.unique(y)) < 2:
        raise ValueError("AUROC needs both positive and negative examples; targets hold a single class")
    if s.ndim == 1:
        if not set(np.unique(y)) <= {0, 1}:
            raise ValueError(f"binary AUROC needs targets in {{0, 1}}, got classes {np.unique(y).tolist()}")
        return float(skm.roc_auc_score(y, s))
    if s.ndim != 2:
        raise ValueError(f"scores must be (N,) or (N, C), got shape {s.shape}")
    if not np.allclose(s.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("multi-class AUROC needs probabilities whose rows sum to 1: apply softmax to logits")
    return float(skm.roc_auc_score(y, s, multi_class="ovr", average="macro", labels=np.arange(s.shape[1])))


# --- retrieval -------------------------------------------------------------------------------------------


def _relevance(targets, n_queries: int, n_candidates: int) -> np.ndarray:
    """A (Nq, Nc) boolean matrix of correct candidates per query."""
    if targets is None:
        if n_queries != n_candidates:
            raise ValueError(
                f"similarity is ({n_queries}, {n_candidates}): without targets, query i must match "
                "candidate i, which needs a square matrix; pass targets"
            )
        return np.eye(n_queries, dtype=bool)
    t = to_numpy(targets, "targets")
    if t.ndim == 1:
        t = _targets(t, n_queries, against="similarity")
        if t.max() >= n_candidates:
            raise ValueError(f"targets must index candidates in [0, {n_candidates - 1}], got {t.max()}")
        mask = np.zeros((n_queries, n_candidates), dtype=bool)
        mask[np.arange(n_queries), t] = True
        return mask
    if t.shape != (n_queries, n_candidates):
        raise ValueError(
            f"targets must be (Nq,) indices or an (Nq, Nc) = ({n_queries}, {n_candidates}) boolean "
            f"matrix, got shape {t.shape}"
        )
    mask = t.astype(bool)
    empty = np.flatnonzero(~mask.any(axis=1))
    if len(empty):
        raise ValueError(f"queries {empty[:5].tolist()} have no correct candidate in targets")
    return mask


def _similarity(similarity) -> np.ndarray:
    s = to_numpy(similarity, "similarity").astype(np.float64)
    if s.ndim != 2:
        raise ValueError(f"similarity must be a 2-D (queries, candidates) matrix, got shape {s.shape}")
    return s


def retrieval_ranks(similarity, targets=None) -> np.ndarray:
    """0-based rank of the first correct candidate for each query (higher similarity = better).

    ``similarity`` is (Nq, Nc). ``targets`` is None (query i matches
    candidate i), (Nq,) indices of the correct candidate, or an (Nq, Nc)
    boolean matrix when a query has several correct candidates.
    Ties are broken pessimistically: a wrong candidate with the same score as
    the best correct one counts as ranked above it, so a collapsed embedding
    (all scores equal) gets the worst rank, never a lucky one.
    """
    s = _similarity(similarity)
    relevant = _relevance(targets, *s.shape)
    best = np.where(relevant, s, -np.inf).max(axis=1)  # (Nq,) score of the best correct candidate
    return ((s >= best[:, None]) & ~relevant).sum(axis=1)  # wrong candidates at or above it


def recall_at_k(similarity, k: int, targets=None) -> float:
    """Fraction of queries with a correct candidate among their top ``k`` (see ``retrieval_ranks``)."""
    s = _similarity(similarity)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= s.shape[1]:
        raise ValueError(
            f"k must be an integer between 1 and the number of candidates ({s.shape[1]}), got {k!r}"
        )
    return float((retrieval_ranks(s, targets) < k).mean())


def retrieval_report(similarity, ks=(1, 5, 10), targets=None) -> dict[str, float]:
    """Recall@k in both directions, plus median rank (1-based, as papers report it).

    ``similarity`` is (N_images, N_texts); image -> text uses its rows,
    text -> image its columns. Keys are identifiers such as ``i2t_r1`` and
    ``t2i_medr`` so they can go straight to ``mmlearn.report.record``.
    """
    s = _similarity(similarity)
    relevant = _relevance(targets, *s.shape)
    if isinstance(ks, str | bytes) or not isinstance(ks, Sequence) or not ks:
        raise TypeError(f"ks must be a non-empty list of integers such as (1, 5, 10), got {ks!r}")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"ks must hold positive integers, got {k!r}")
    report = {}
    for name, sim, rel in (("i2t", s, relevant), ("t2i", s.T, relevant.T)):
        ranks = retrieval_ranks(sim, rel)
        for k in ks:
            if k > sim.shape[1]:
                raise ValueError(f"ks holds k={k}, out of range for {sim.shape[1]} candidates ({name})")
            report[f"{name}_r{k}"] = float((ranks < k).mean())
        report[f"{name}_medr"] = float(np.median(ranks) + 1)
    return report


def chance_recall_at_k(n: int, k: int) -> float:
    """Recall@k of a random ranking of ``n`` candidates with one correct: k / n."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer between 1 and n={n}, got {k!r}")
    return k / n


# --- calibration -----------------------------------------------------------------------------------------


def _confidences(probs, targets) -> tuple[np.ndarray, np.ndarray]:
    """Top-class confidence and correctness per sample, from probabilities."""
    p = to_numpy(probs, "probs").astype(np.float64)
    if p.min() < 0 or p.max() > 1:
        raise ValueError("probs must be probabilities in [0, 1]: apply softmax (or sigmoid) to logits first")
    if p.ndim == 1:  # binary: probability of class 1
        y = _targets(targets, len(p), num_classes=2, against="probs")
        pred = (p >= 0.5).astype(np.int64)
        return np.where(pred == 1, p, 1 - p), (pred == y).astype(np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be (N,) binary or (N, C) probabilities, got shape {p.shape}")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("each row of probs must sum to 1: apply softmax to logits first")
    y = _targets(targets, len(p), num_classes=p.shape[1], against="probs")
    return p.max(axis=1), (p.argmax(axis=1) == y).astype(np.float64)


def reliability_bins(probs, targets, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per-bin mean confidence, accuracy and count (the data of a reliability diagram).

    Samples are binned by top-class confidence into ``n_bins`` equal-width
    bins over [0, 1], each closed on the right: (0.9, 1.0] holds confidence 1.
    Empty bins have NaN confidence and accuracy and a count of 0.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    conf, correct = _confidences(probs, targets)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], conf, side="left")  # bin index per sample, right-closed bins
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=n_bins) / count
        mean_acc = np.bincount(which, weights=correct, minlength=n_bins) / count
    return {"edges": edges, "confidence": mean_conf, "accuracy": mean_acc, "count": count}


def expected_calibration_error(probs, targets, n_bins: int = 15) -> float:
    """ECE = sum over bins of (bin size / N) * |accuracy - mean confidence| (Guo et al. 2017).

    Binning as in ``reliability_bins`` (15 equal-width bins by default, the
    usual choice since Guo et al.). 0 means perfectly calibrated.
    """
    bins = reliability_bins(probs, targets, n_bins)
    filled = bins["count"] > 0
    weights = bins["count"][filled] / bins["count"].sum()
    return float(np.sum(weights * np.abs(bins["accuracy"][filled] - bins["confidence"][filled])))


# --- lesson-specific scores -------------------------------------------------------------------------


def accuracy_by_question_type(predictions: torch.Tensor, answers: torch.Tensor, qtype: torch.Tensor) -> dict:
    """Accuracy per Sort-of-CLEVR question type, plus "non-relational", "relational" and "overall".

    Lesson 07 (section "Accuracy per question type"), against the Relation Network paper's table.

    All three tensors hold answer ids / type ids of the same shape (any shape).
    A question type with no question gets NaN.
    """
    from mmlearn.data.scene_questions import ANSWERS, QUESTION_TYPES, RELATIONAL  # here: data imports metrics

    for name, x in (("predictions", predictions), ("answers", answers), ("qtype", qtype)):
        check_tensor(x, name)
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer ids, got dtype {x.dtype}")
    for name, x in (("predictions", predictions), ("answers", answers)):
        if x.numel() and (x.min() < 0 or x.max() >= len(ANSWERS)):
            raise ValueError(f"{name} must be answer ids in 0..{len(ANSWERS) - 1}, got {x.min()}..{x.max()}")
    if not (predictions.shape == answers.shape == qtype.shape):
        raise ValueError(
            f"predictions, answers and qtype must have one shape, got "
            f"{tuple(predictions.shape)}, {tuple(answers.shape)}, {tuple(qtype.shape)}"
        )
    if qtype.numel() and (qtype.min() < 0 or qtype.max() >= len(QUESTION_TYPES)):
        raise ValueError(
            f"qtype ids must lie in 0..{len(QUESTION_TYPES) - 1}, got {qtype.min()}..{qtype.max()}"
        )
    correct = (predictions == answers).float().flatten()
    qtype = qtype.flatten()
    relational = torch.tensor(RELATIONAL, device=qtype.device)[qtype]
    groups = {name: qtype == i for i, name in enumerate(QUESTION_TYPES)}
    groups.update(
        {"non-relational": ~relational, "relational": relational, "overall": torch.ones_like(relational)}
    )
    return {
        name: correct[mask].mean().item() if mask.any() else float("nan") for name, mask in groups.items()
    }


def posterior_report(labels, posteriors: Mapping[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """{source: {"accuracy", "auroc"}}: the Bayes rule (predict malignant when p > 0.5) scored on labels.

    Lesson 09 (section "The Bayes-optimal limit"): ``posteriors`` maps an evidence source
    ("image", "record", "fused") to p(malignant | that evidence), one row per label.
    """
    labels = to_numpy(labels, "labels").reshape(-1)
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be 0 (benign) or 1 (malignant), got {np.unique(labels)[:5].tolist()}")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels hold a single class: AUROC needs both benign and malignant cases")
    if not isinstance(posteriors, Mapping) or not posteriors:
        raise TypeError(
            f"posteriors must be a dict {{source: probabilities}}, got {type(posteriors).__name__}"
        )
    report = {}
    for source, p in posteriors.items():
        p = to_numpy(p, f"posteriors['{source}']").astype(np.float64).reshape(-1)
        if len(p) != len(labels):
            raise ValueError(f"posteriors['{source}'] has {len(p)} rows but there are {len(labels)} labels")
        if p.min() < 0 or p.max() > 1:
            raise ValueError(f"posteriors['{source}'] must be probabilities in [0, 1]")
        report[source] = {
            "accuracy": float(np.mean((p > 0.5) == (labels == 1))),
            "auroc": float(skm.roc_auc_score(labels, p)),
        }
    return report
