"""Running a trained model: accuracy, probabilities, embeddings, cross-modal similarities.

Taught in lesson 02 (section 3, "Train everything": ``evaluate``), lesson 03
(section 3, "Learned projection heads with a ranking loss": ``embed``) and
lesson 04 (section 3, "CLIP": ``cross_modal_similarity``); every later
lesson uses them.

Each function runs the model in eval mode (dropout off, BatchNorm on its
running statistics) without gradients, and puts every module back in the
mode it found it in, so a check in the middle of training changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from mmlearn.data.base import MultimodalDataset, batches
from mmlearn.validation import check_labels, check_module, check_positive_int

__all__ = ["eval_mode", "evaluate", "predict_proba", "embed", "cross_modal_similarity", "device_of"]

# transform(inputs, labels) -> inputs, applied to every batch before the model sees it
Transform = Callable[[dict[str, torch.Tensor], torch.Tensor], dict[str, torch.Tensor]]


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode inside the block and restore each one's mode after it."""
    for m in modules:
        check_module(m, "modules")
    was_training = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for m, mode in zip(modules, was_training, strict=True):
            m.train(mode)


def device_of(*modules: nn.Module) -> torch.device:
    """Where the modules' parameters live (the CPU for modules without parameters)."""
    for m in modules:
        for p in check_module(m, "modules").parameters():
            return p.device
    return torch.device("cpu")


def check_dataset(dataset, name: str) -> MultimodalDataset:
    """``dataset`` if it is a non-empty ``MultimodalDataset``; an error naming ``name`` otherwise."""
    if not isinstance(dataset, MultimodalDataset):
        raise TypeError(f"{name} must be a mmlearn.data.MultimodalDataset, got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise ValueError(f"{name} is empty")
    return dataset


def _predict_logits(
    model: nn.Module, dataset: MultimodalDataset, batch_size: int, transform: Transform | None
) -> torch.Tensor:
    """(N, C) logits on the CPU, in dataset order, in eval mode."""
    check_module(model, "model")
    check_dataset(dataset, "dataset")
    batch_size = check_positive_int(batch_size, "batch_size")
    device = device_of(model)
    outputs = []
    with eval_mode(model):
        for inputs, labels in batches(dataset, batch_size):
            inputs, labels = {k: v.to(device) for k, v in inputs.items()}, labels.to(device)
            if transform is not None:  # outside no_grad: an adversarial transform needs gradients
                inputs = transform(inputs, labels)
            with torch.no_grad():
                outputs.append(model(inputs).cpu())
    return torch.cat(outputs)


def evaluate(
    model: nn.Module, dataset: MultimodalDataset, batch_size: int = 256, transform: Transform | None = None
) -> float:
    """Accuracy of ``model`` on ``dataset`` (optionally with ``transform(inputs, labels)`` applied)."""
    logits = _predict_logits(model, dataset, batch_size, transform)
    if logits.dim() != 2 or logits.shape[0] != len(dataset):
        raise ValueError(f"model must return (N, classes) logits, got shape {tuple(logits.shape)}")
    labels = check_labels(dataset.labels.cpu(), "dataset.labels", num_classes=logits.shape[1])
    return (logits.argmax(dim=1) == labels).sum().item() / len(dataset)


def predict_proba(
    model: nn.Module, dataset: MultimodalDataset, batch_size: int = 256, transform: Transform | None = None
) -> torch.Tensor:
    """(N, C) softmax probabilities on the CPU, in dataset order."""
    return _predict_logits(model, dataset, batch_size, transform).softmax(dim=1)


def embed(encoder: nn.Module, data: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Run ``encoder`` over ``data`` (N, ...) in batches: (N, D) features on the CPU, eval mode, no grad."""
    return _embed(encoder, data, batch_size, "encoder", "data")


def _embed(encoder, data, batch_size: int, encoder_name: str, data_name: str) -> torch.Tensor:
    """``embed``, with the argument names its messages use."""
    check_module(encoder, encoder_name)
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"{data_name} must be a torch.Tensor, got {type(data).__name__}")
    if data.dim() == 0 or len(data) == 0:
        raise ValueError(f"{data_name} is empty")
    batch_size = check_positive_int(batch_size, "batch_size")
    device = device_of(encoder)
    parts = []
    with eval_mode(encoder), torch.no_grad():
        for start in range(0, len(data), batch_size):
            parts.append(encoder(data[start : start + batch_size].to(device)).cpu())  # (B, D)
    return torch.cat(parts)


def cross_modal_similarity(
    image_encoder: nn.Module,
    text_encoder: nn.Module,
    images: torch.Tensor,
    texts: torch.Tensor,
    batch_size: int = 256,
) -> torch.Tensor:
    """(N, M) cosine similarities of N images with M texts, each embedded by its own encoder.

    Row i ranks the texts for image i (image -> text retrieval); the
    transpose ranks the images for each text. On the CPU, no grad.
    """
    image_features = _embed(image_encoder, images, batch_size, "image_encoder", "images")  # (N, D)
    text_features = _embed(text_encoder, texts, batch_size, "text_encoder", "texts")  # (M, D)
    if image_features.shape[1] != text_features.shape[1]:
        raise ValueError(
            f"the encoders disagree on the embedding size: images {image_features.shape[1]}, "
            f"texts {text_features.shape[1]}; a shared space needs one size"
        )
    return F.normalize(image_features, dim=-1) @ F.normalize(text_features, dim=-1).T
