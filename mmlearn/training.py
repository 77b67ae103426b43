"""One small training loop for every lesson, so the notebooks show models, not boilerplate.

``train_classifier`` trains any model that maps ``{modality: batch}`` to
class logits; ``train_contrastive`` trains an image encoder and a text
encoder with a contrastive loss (lesson 04). Both slice batches straight from
the in-memory tensors (``mmlearn.data.batches``), seed everything they draw,
show one ``tqdm`` bar over epochs, and return a ``History`` to plot.

Both take ``lr_schedule``: ``"constant"``, or ``"onecycle"`` (warm up over
the first 10% of the steps, then a cosine decay to almost zero; Smith and
Topin, 2019), which lets a short run use a high learning rate without ending
on a noisy step.

``evaluate``, ``predict_proba``, ``embed`` and ``cross_modal_similarity`` run a model in eval mode
without gradients and put it back in the mode they found it in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import trange

from mmlearn.data.base import MultimodalDataset, batches
from mmlearn.metrics import recall_at_k
from mmlearn.validation import check_positive_int

__all__ = [
    "History",
    "train_classifier",
    "train_contrastive",
    "evaluate",
    "predict_proba",
    "embed",
    "cross_modal_similarity",
    "eval_mode",
]

# transform(inputs, labels) -> inputs: applied to every batch before the model sees it
# (modality dropout, noise, adversarial perturbations need the labels too).
Transform = Callable[[dict[str, torch.Tensor], torch.Tensor], dict[str, torch.Tensor]]

LR_SCHEDULES = ("constant", "onecycle")


@dataclass
class History:
    """Per-epoch figures of a training run.

    ``train_acc`` is the running accuracy over each epoch's batches (in train
    mode). ``val_acc`` is empty when no validation set was given. For
    ``train_contrastive`` both are retrieval figures: in-batch image -> text
    top-1 accuracy, and image -> text recall@1 over the validation pairs.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # the learning rate of each epoch's last step

    def __len__(self) -> int:
        return len(self.train_loss)

    def epoch(self, i: int) -> dict[str, float]:
        """The figures of epoch ``i`` (0-based; negative counts from the end)."""
        if not self.train_loss:
            raise ValueError("this History is empty: no epoch has been recorded")
        row = {"epoch": range(len(self))[i], "train_loss": self.train_loss[i], "train_acc": self.train_acc[i]}
        if self.val_acc:
            row["val_acc"] = self.val_acc[i]
        return row

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's figures."""
        return self.epoch(-1)

    @property
    def best(self) -> dict[str, float]:
        """The epoch with the highest validation accuracy (the lowest training loss without validation)."""
        if not self.train_loss:
            raise ValueError("this History is empty: no epoch has been recorded")
        if self.val_acc:
            i = max(range(len(self)), key=lambda e: self.val_acc[e])
        else:
            i = min(range(len(self)), key=lambda e: self.train_loss[e])
        return self.epoch(i)

    def to_dict(self) -> dict[str, list[float]]:
        return asdict(self)


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode inside the block and restore each one's mode after it."""
    was_training = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for m, mode in zip(modules, was_training, strict=True):
            m.train(mode)


def _device_of(*modules: nn.Module) -> torch.device:
    """Where the modules' parameters live (the CPU for a module without parameters)."""
    for m in modules:
        for p in m.parameters():
            return p.device
    return torch.device("cpu")


def _check_dataset(dataset, name: str) -> MultimodalDataset:
    if not isinstance(dataset, MultimodalDataset):
        raise TypeError(f"{name} must be a mmlearn.data.MultimodalDataset, got {type(dataset).__name__}")
    return dataset


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    return float(lr)


def _to(inputs: dict[str, torch.Tensor], labels: torch.Tensor, device: torch.device):
    return {k: v.to(device) for k, v in inputs.items()}, labels.to(device)


def _check_schedule(lr_schedule) -> str:
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    return lr_schedule


def _make_scheduler(optimizer, lr_schedule: str, lr: float, total_steps: int):
    """None for a constant rate; else torch's OneCycleLR stepped once per batch."""
    if lr_schedule == "constant" or total_steps < 1:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=total_steps, pct_start=0.1, cycle_momentum=False
    )


def _epoch_seeds(seed: int, epochs: int) -> list[int]:
    """One shuffling seed per epoch, all drawn from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2**31 - 1, (epochs,), generator=gen).tolist()


def _check_finite(loss_sum: torch.Tensor, epoch: int) -> None:
    """Checked once per epoch (not per batch, which would stall a GPU): NaN spreads, so it shows up."""
    if not torch.isfinite(loss_sum):
        raise FloatingPointError(
            f"the training loss became {loss_sum.item()} in epoch {epoch}: try a lower lr or check the inputs"
        )


def train_classifier(
    model: nn.Module,
    train: MultimodalDataset,
    val: MultimodalDataset | None = None,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    transform: Transform | None = None,
    lr_schedule: str = "constant",
) -> History:
    """Train ``model`` (inputs dict -> (B, C) logits) with AdamW and return its History.

    ``loss_fn(logits, labels)`` defaults to the model's own ``training_step``
    when it has one (late fusion trains each unimodal classifier on its own),
    else to cross-entropy. ``transform(inputs,
    labels) -> inputs`` is applied to each training batch (not to validation).
    The run is deterministic given ``seed``: it seeds torch's global generator
    (dropout, transforms) and draws each epoch's batch order from ``seed``.
    ``device`` defaults to where the model's parameters are; batches are moved
    there. The model is left in train mode with its final weights.
    """
    _check_dataset(train, "train")
    if val is not None:
        _check_dataset(val, "val")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = _check_lr(lr)
    lr_schedule = _check_schedule(lr_schedule)
    device = torch.device(device) if device is not None else _device_of(model)
    model.to(device)

    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = -(-len(train) // batch_size)  # ceil
    scheduler = _make_scheduler(optimizer, lr_schedule, lr, epochs * steps_per_epoch)
    history = History()
    bar = trange(epochs, desc="training", disable=not progress)
    epoch_seeds = _epoch_seeds(seed, epochs)
    for epoch in bar:
        model.train()
        loss_sum = torch.zeros((), device=device)  # summed on the device: one sync per epoch
        correct = torch.zeros((), device=device, dtype=torch.long)
        for inputs, labels in batches(train, batch_size, shuffle=True, seed=epoch_seeds[epoch]):
            inputs, labels = _to(inputs, labels, device)
            if transform is not None:
                inputs = transform(inputs, labels)
            optimizer.zero_grad()
            if loss_fn is None and hasattr(model, "training_step"):
                loss, logits = model.training_step(inputs, labels)  # the model knows its own loss
            else:
                logits = model(inputs)  # (B, C)
                loss = (loss_fn or F.cross_entropy)(logits, labels)
            loss.backward()
            optimizer.step()
            last_lr = optimizer.param_groups[0]["lr"]  # the rate this step used
            if scheduler is not None:
                scheduler.step()
            loss_sum += loss.detach() * len(labels)
            correct += (logits.detach().argmax(dim=1) == labels).sum()
        _check_finite(loss_sum, epoch)
        history.train_loss.append(loss_sum.item() / len(train))
        history.train_acc.append(correct.item() / len(train))
        history.lr.append(last_lr)
        postfix = {"loss": f"{history.train_loss[-1]:.3f}", "train_acc": f"{history.train_acc[-1]:.3f}"}
        if val is not None:
            history.val_acc.append(evaluate(model, val, batch_size=max(batch_size, 256)))
            postfix["val_acc"] = f"{history.val_acc[-1]:.3f}"
        bar.set_postfix(postfix)
    model.train()
    return history


def _predict_logits(
    model: nn.Module, dataset: MultimodalDataset, batch_size: int, transform: Transform | None
) -> torch.Tensor:
    """(N, C) logits on the CPU, in dataset order, in eval mode."""
    _check_dataset(dataset, "dataset")
    batch_size = check_positive_int(batch_size, "batch_size")
    device = _device_of(model)
    outputs = []
    with eval_mode(model):
        for inputs, labels in batches(dataset, batch_size):
            inputs, labels = _to(inputs, labels, device)
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
    return (logits.argmax(dim=1) == dataset.labels.cpu()).sum().item() / len(dataset)


def predict_proba(
    model: nn.Module, dataset: MultimodalDataset, batch_size: int = 256, transform: Transform | None = None
) -> torch.Tensor:
    """(N, C) softmax probabilities on the CPU, in dataset order."""
    return _predict_logits(model, dataset, batch_size, transform).softmax(dim=1)


def embed(encoder: nn.Module, data: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Run ``encoder`` over ``data`` (N, ...) in batches: (N, D) features on the CPU, eval mode, no grad."""
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"data must be a torch.Tensor, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data is empty")
    batch_size = check_positive_int(batch_size, "batch_size")
    device = _device_of(encoder)
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
    image_features = F.normalize(embed(image_encoder, images, batch_size), dim=-1)  # (N, D)
    text_features = F.normalize(embed(text_encoder, texts, batch_size), dim=-1)  # (M, D)
    if image_features.shape[1] != text_features.shape[1]:
        raise ValueError(
            f"the encoders disagree on the embedding size: images {image_features.shape[1]}, "
            f"texts {text_features.shape[1]}; a shared space needs one size"
        )
    return image_features @ text_features.T


def train_contrastive(
    image_encoder: nn.Module,
    text_encoder: nn.Module,
    pairs: MultimodalDataset,
    loss_module: nn.Module,
    val: MultimodalDataset | None = None,
    *,
    image_key: str = "image",
    text_key: str = "text",
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
    lr_schedule: str = "constant",
) -> History:
    """Train two encoders so that row i of ``pairs[image_key]`` and ``pairs[text_key]`` match.

    ``loss_module(image_features, text_features)`` is e.g. ``ClipLoss()``;
    its own parameters (a learnable temperature) are trained too. Each batch
    holds ``batch_size`` pairs and the other items are its negatives, so a
    last batch of a single pair is skipped. The labels of ``pairs`` are not
    used. History: loss, in-batch image -> text top-1 accuracy, and with
    ``val`` the image -> text recall@1 over all validation pairs.
    """
    _check_dataset(pairs, "pairs")
    for key in (image_key, text_key):
        if key not in pairs.modalities:
            raise KeyError(f"pairs has no modality '{key}'; it has {sorted(pairs.modalities)}")
    if len(pairs) < 2:
        raise ValueError("pairs must hold at least 2 pairs: the other pairs in a batch are the negatives")
    if val is not None:
        _check_dataset(val, "val")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size < 2:
        raise ValueError("batch_size must be at least 2: the other pairs in a batch are the negatives")
    lr = _check_lr(lr)
    lr_schedule = _check_schedule(lr_schedule)
    device = torch.device(device) if device is not None else _device_of(image_encoder, text_encoder)
    modules = (image_encoder, text_encoder, loss_module)
    for m in modules:
        m.to(device)

    torch.manual_seed(seed)
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    # a last batch of a single pair is skipped, so it takes no step
    steps_per_epoch = len(pairs) // batch_size + (len(pairs) % batch_size >= 2)
    scheduler = _make_scheduler(optimizer, lr_schedule, lr, epochs * steps_per_epoch)
    history = History()
    bar = trange(epochs, desc="contrastive training", disable=not progress)
    epoch_seeds = _epoch_seeds(seed, epochs)
    for epoch in bar:
        for m in modules:
            m.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        for inputs, _ in batches(pairs, batch_size, shuffle=True, seed=epoch_seeds[epoch]):
            if len(inputs[image_key]) < 2:
                continue
            images, texts = inputs[image_key].to(device), inputs[text_key].to(device)
            optimizer.zero_grad()
            image_features = image_encoder(images)  # (B, D)
            text_features = text_encoder(texts)  # (B, D)
            loss = loss_module(image_features, text_features)
            loss.backward()
            optimizer.step()
            last_lr = optimizer.param_groups[0]["lr"]  # the rate this step used
            if scheduler is not None:
                scheduler.step()
            n = len(images)
            loss_sum += loss.detach() * n
            img, txt = (
                F.normalize(image_features.detach(), dim=-1),
                F.normalize(text_features.detach(), dim=-1),
            )
            similarity = img @ txt.T  # (B, B) cosine similarities; pair i is on the diagonal
            correct += (similarity.argmax(dim=1) == torch.arange(n, device=device)).sum()
            seen += n
        _check_finite(loss_sum, epoch)
        history.train_loss.append(loss_sum.item() / seen)
        history.train_acc.append(correct.item() / seen)
        history.lr.append(last_lr)
        postfix = {"loss": f"{history.train_loss[-1]:.3f}", "batch_acc": f"{history.train_acc[-1]:.3f}"}
        if val is not None:
            similarity = cross_modal_similarity(
                image_encoder, text_encoder, val.modalities[image_key], val.modalities[text_key]
            )
            history.val_acc.append(recall_at_k(similarity, 1))
            postfix["val_r1"] = f"{history.val_acc[-1]:.3f}"
        bar.set_postfix(postfix)
    for m in modules:
        m.train()
    return history
