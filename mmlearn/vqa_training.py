"""Training and evaluating the VQA models of ``mmlearn.vqa``, and the shipped checkpoints.

Taught in lesson 07 ("Visual question answering"). The models answer all 20
questions of a scene at once, (B, Q, 13) logits against (B, Q) answers, so
the step flattens the question axis before the cross-entropy; everything
else (optimizer, schedule, seeding, checkpoints, resume) is the package's
one training loop, ``mmlearn.training.fit``.

Accuracy is reported per question type (``QUESTION_TYPES``) and for the two
groups the RN paper reports: non-relational (shape, horizontal, vertical)
and relational (closest, furthest, count).

Shipped checkpoints. Training the full-size models takes minutes on a GPU
and far longer than a lesson on a laptop CPU, so the course ships them
(``SHIPPED``: file name and SHA-256 in ``mmlearn/data/assets/``). Each file
holds the model's weights, the options it was built with, the exact command
that produced it (``python -m mmlearn.train vqa ...``), its training time and
hardware, and its accuracy on the held-out scenes. ``load_shipped`` checks the
digest before reading a byte and loads with ``weights_only=True``: a file
that was swapped or that carries pickled code is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.checkpoints import load_checkpoint
from mmlearn.data.base import MultimodalDataset, batches
from mmlearn.data.scene_questions import QUESTION_TYPES, RELATIONAL
from mmlearn.inference import check_dataset, device_of, eval_mode
from mmlearn.training import History, fit
from mmlearn.validation import check_labels, check_module, check_positive_int
from mmlearn.vqa import N_ANSWERS, VQAModel, make_vqa_model

# Shipped checkpoints: kind -> (file in mmlearn/data/assets, SHA-256 of the file).
SHIPPED: dict[str, tuple[str, str]] = {}


def vqa_step(model: nn.Module):
    """A ``fit`` step for a VQA model: cross-entropy over every question of the batch, and its accuracy."""
    check_module(model, "model")

    def step(inputs: Mapping[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
        if not isinstance(inputs, Mapping) or not {"image", "question"} <= set(inputs):
            raise TypeError(
                f"inputs must be a dict holding 'image' and 'question' batches, got {inputs!r:.80}"
            )
        logits = model(inputs)  # (B, Q, 13)
        if not isinstance(labels, torch.Tensor) or labels.shape != logits.shape[:2]:
            shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(f"labels must be (B, Q) = {tuple(logits.shape[:2])} answer ids, got {shape}")
        flat_logits = logits.flatten(0, 1)  # (B * Q, 13)
        flat_labels = check_labels(labels.flatten(), "labels", num_classes=N_ANSWERS)  # (B * Q,)
        loss = F.cross_entropy(flat_logits, flat_labels)
        accuracy = (flat_logits.detach().argmax(dim=1) == flat_labels).float().mean()
        return {"loss": loss, "accuracy": accuracy}

    return step


def check_vqa_dataset(data: MultimodalDataset, name: str) -> MultimodalDataset:
    """A Sort-of-CLEVR dataset: image and question modalities, (N, Q) answers and (N, Q) question types."""
    check_dataset(data, name)
    missing = {"image", "question"} - set(data.modalities)
    if missing:
        raise KeyError(
            f"{name} must hold 'image' and 'question' modalities (sort_of_clevr), missing {missing}"
        )
    if "qtype" not in data.info or data.info["qtype"].shape != data.labels.shape:
        raise ValueError(f"{name} must have info['qtype'] shaped like its (N, Q) labels (use sort_of_clevr)")
    return data


@torch.no_grad()
def predict_answers(model: nn.Module, data: MultimodalDataset, batch_size: int = 100) -> torch.Tensor:
    """(N, Q) predicted answer ids for every question of ``data``, in eval mode, on the model's device."""
    check_module(model, "model")
    check_vqa_dataset(data, "data")
    batch_size = check_positive_int(batch_size, "batch_size")
    device = device_of(model)
    out = []
    with eval_mode(model):
        for inputs, _ in batches(data, batch_size, shuffle=False):
            inputs = {k: v.to(device) for k, v in inputs.items()}
            out.append(model(inputs).argmax(dim=2).cpu())  # (b, Q)
    return torch.cat(out)


def accuracy_by_type(predicted: torch.Tensor, answers: torch.Tensor, qtype: torch.Tensor) -> dict[str, float]:
    """Accuracy per question type, and over the non-relational and relational groups and all questions.

    All three are (N, Q) tensors. A type with no question gets NaN rather than
    a misleading number.
    """
    for name, t in (("predicted", predicted), ("answers", answers), ("qtype", qtype)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not (predicted.shape == answers.shape == qtype.shape):
        raise ValueError(
            f"predicted, answers and qtype must have one shape, got {tuple(predicted.shape)}, "
            f"{tuple(answers.shape)} and {tuple(qtype.shape)}"
        )
    for name, t, classes in (
        ("predicted", predicted, N_ANSWERS),
        ("answers", answers, N_ANSWERS),
        ("qtype", qtype, len(QUESTION_TYPES)),
    ):
        check_labels(t.flatten(), name, num_classes=classes)  # integer ids in range
    right = (predicted == answers).float()
    result = {}
    for t, name in enumerate(QUESTION_TYPES):
        mask = qtype == t
        result[name] = right[mask].mean().item() if mask.any() else float("nan")
    relational = torch.tensor(RELATIONAL)[qtype]  # (N, Q) True for closest / furthest / count
    for name, mask in (("non_relational", ~relational), ("relational", relational)):
        result[name] = right[mask].mean().item() if mask.any() else float("nan")
    result["all"] = right.mean().item()
    return result


def evaluate_vqa(model: nn.Module, data: MultimodalDataset, batch_size: int = 100) -> dict[str, float]:
    """``accuracy_by_type`` of ``model`` on every question of ``data``."""
    predicted = predict_answers(model, data, batch_size)
    return accuracy_by_type(predicted, data.labels, data.info["qtype"])


def train_vqa(
    model: VQAModel,
    train: MultimodalDataset,
    val: MultimodalDataset | None = None,
    **options,
) -> History:
    """Train a VQA model with ``fit``; with ``val``, record ``val_relational`` and ``val_non_relational``."""
    check_vqa_dataset(train, "train")
    validate = None
    if val is not None:
        check_vqa_dataset(val, "val")

        def validate():
            acc = evaluate_vqa(model, val)
            return {"relational": acc["relational"], "non_relational": acc["non_relational"]}

    return fit(model, train, vqa_step(model), validate=validate, **options)


def load_vqa_checkpoint(path: str | os.PathLike, *, sha256: str | None = None) -> tuple[VQAModel, dict]:
    """Rebuild a VQA model from a checkpoint written by ``python -m mmlearn.train vqa``.

    Returns the model in eval mode on the CPU and the checkpoint's metadata
    (``kind``, ``options``, ``command``, ``seconds``, ``hardware``, ``metrics``).
    """
    state = load_checkpoint(path, sha256=sha256)
    for key in ("kind", "options", "model"):
        if key not in state:
            raise ValueError(f"{path} is not a VQA checkpoint of mmlearn.train: it has no '{key}'")
    model = make_vqa_model(state["kind"], **state["options"])
    model.load_state_dict(state["model"])
    model.eval()
    meta = {k: v for k, v in state.items() if k != "model"}
    return model, meta


def load_shipped(kind: str) -> tuple[VQAModel, dict]:
    """The course's trained VQA model ``kind`` ("mlp", "rn", "xattn"), digest checked, in eval mode."""
    if kind not in SHIPPED:
        raise ValueError(f"kind must be one of the shipped models {sorted(SHIPPED)}, got {kind!r}")
    file, digest = SHIPPED[kind]
    path = resources.files("mmlearn.data") / "assets" / file
    with resources.as_file(path) as real_path:
        return load_vqa_checkpoint(real_path, sha256=digest)
