"""One training loop for every lesson: ``fit`` drives epochs, a step function says what one batch does.

Taught in lesson 02 (section 3, "Train everything") and lesson 04 (section 3,
"CLIP: the other captions of the batch are the negatives"); every later lesson
trains through it.

Why one loop: classification, contrastive pairs and sequence outputs differ
only in what happens to one batch (which forward pass, which loss, which
figures to report). Everything around that is the same and easy to get
subtly wrong, so it lives here once:

* the optimizer (AdamW) and the learning-rate schedule: ``"constant"``, or
  ``"onecycle"`` (warm up over the first 10% of the steps, then a cosine
  decay to almost zero; Smith and Topin, 2019), which lets a short run use a
  high learning rate without ending on a noisy step;
* seeding: torch's global generator (dropout, transforms) from ``seed``, and
  each epoch's batch order from a seed drawn from ``seed``;
* the device: modules and batches go where the first module's parameters are;
* a last batch of one sample is skipped (BatchNorm cannot normalise a single
  row and a contrastive batch needs negatives);
* a non-finite loss stops the run with a message instead of training on NaNs;
* validation after every epoch, a ``tqdm.auto`` progress bar, and a
  ``History`` of named figures (``train_loss``, ``train_accuracy``,
  ``val_recall_at_1``, ...);
* optional checkpoints after every epoch (atomic, ``weights_only``), from
  which ``resume=True`` continues the same run;
* several processes (``torchrun``, lesson 11): when a process group is
  running, ``batch_size`` is the global batch and each rank trains on its
  share of every batch (rank r takes the r-th of W equal slices of the same
  shuffled batch, so the W ranks together see exactly what one process would);
  a last batch that does not split evenly is skipped (so a run equals a
  one-process run when that batch splits, or there is none); figures are
  averaged over ranks, and a step's in-batch figures (``batch_accuracy``)
  are then those of each rank's share; only rank 0 shows progress and
  writes checkpoints, which hold the unwrapped modules (a run saved on W
  processes resumes on any number; on several machines the checkpoint must
  be on a filesystem they share). In place of a ``DistributedSampler``,
  every rank draws the same shuffled order from the epoch's seed and takes
  its slice of each global batch. The caller
  wraps the modules in ``DistributedDataParallel`` (``mmlearn.train clip``).

A step function takes a batch ``(inputs, labels)`` already on the device and
returns a dict of batch means with the key ``"loss"`` (the tensor to
minimise) and any other figure to report (``"accuracy"``, ...), or ``None``
to skip the batch. ``classification_step`` and ``contrastive_step`` are the
two the lessons use; ``train_classifier`` and ``train_contrastive`` are
``fit`` with one of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import trange

from mmlearn.checkpoints import load_checkpoint, save_checkpoint
from mmlearn.data.base import MultimodalDataset, batches
from mmlearn.distributed import rank_and_world
from mmlearn.inference import Transform, check_dataset, cross_modal_similarity, device_of, eval_mode, evaluate
from mmlearn.metrics import recall_at_k
from mmlearn.validation import (
    check_batch_labels,
    check_device,
    check_labels,
    check_modalities,
    check_module,
    check_number,
    check_positive_int,
    check_seed,
)

__all__ = [
    "History",
    "fit",
    "classification_step",
    "contrastive_step",
    "train_classifier",
    "train_contrastive",
]

# step(inputs, labels) -> {"loss": scalar tensor, other figure: scalar} (batch means), or None to skip
StepFn = Callable[[dict[str, torch.Tensor], torch.Tensor], "Mapping[str, torch.Tensor] | None"]

LR_SCHEDULES = ("constant", "onecycle")


def _figure(value, name: str) -> float:
    """One recorded figure as a float, from a number or a 0-d tensor (NaN is kept: a diverged run shows)."""
    if value is None or isinstance(value, bool | str | bytes):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a number, got {value!r}") from err


class History:
    """Per-epoch figures of a run, by name: ``history["val_accuracy"]`` is a list, one value per epoch.

    Training figures are prefixed ``train_`` (means over the epoch's batches,
    in train mode), validation figures ``val_``. ``lr`` holds the learning
    rate of each epoch's last step. ``best`` picks the epoch by ``monitor``:
    by default the first validation figure (highest is best; lowest for a
    name ending in ``loss``), or the lowest ``train_loss`` without validation.
    """

    def __init__(self, metrics: Mapping[str, Sequence[float]] | None = None, lr: Sequence[float] = ()):
        if metrics is not None and not isinstance(metrics, Mapping):
            raise TypeError(
                f"metrics must be a dict {{name: one value per epoch}}, got {type(metrics).__name__}"
            )
        if isinstance(lr, str | bytes) or not isinstance(lr, Sequence):
            raise TypeError(f"lr must be a list of learning rates, one per epoch, got {lr!r}")
        self.metrics: dict[str, list[float]] = {
            k: [_figure(v, f"metrics[{k!r}]") for v in vs] for k, vs in (metrics or {}).items()
        }
        self.lr: list[float] = [check_number(v, "lr", minimum=0.0) for v in lr]
        lengths = {len(v) for v in self.metrics.values()}
        if len(lengths) > 1:
            raise ValueError(f"every metric needs one value per epoch; got lengths {sorted(lengths)}")

    def log(self, figures: Mapping[str, float], lr: float | None = None) -> None:
        """Append one epoch's ``figures`` (the same names every epoch)."""
        if not isinstance(figures, Mapping) or not figures:
            raise TypeError(f"figures must be a non-empty dict {{name: value}}, got {figures!r}")
        if self.metrics and set(figures) != set(self.metrics):
            raise ValueError(
                f"epoch figures {sorted(figures)} differ from earlier epochs' {sorted(self.metrics)}"
            )
        values = {name: _figure(value, f"figures[{name!r}]") for name, value in figures.items()}
        if lr is not None:
            self.lr.append(check_number(lr, "lr", minimum=0.0))
        for name, value in values.items():
            self.metrics.setdefault(name, []).append(value)

    def __len__(self) -> int:
        return len(next(iter(self.metrics.values()), []))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.metrics:
            raise KeyError(f"this History has no figure {name!r}; it has {sorted(self.metrics)}")
        return self.metrics[name]

    def __contains__(self, name: object) -> bool:
        return name in self.metrics

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"History({len(self)} epochs: {', '.join(self.metrics)})"

    def epoch(self, i: int) -> dict[str, float]:
        """The figures of epoch ``i`` (0-based; negative counts from the end) and its number, ``epoch``."""
        if not len(self):
            raise ValueError("this History is empty: no epoch has been recorded")
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"i must be an epoch number (an int), got {i!r}")
        if not -len(self) <= i < len(self):
            raise ValueError(
                f"i={i} is not an epoch of this History: it has {len(self)} (0 to {len(self) - 1})"
            )
        return {"epoch": range(len(self))[i]} | {k: v[i] for k, v in self.metrics.items()}

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's figures."""
        return self.epoch(-1)

    @property
    def monitor(self) -> str:
        """The figure ``best`` optimises: the first validation figure, else ``train_loss``."""
        return next((k for k in self.metrics if k.startswith("val_")), "train_loss")

    @property
    def best(self) -> dict[str, float]:
        """The epoch with the best ``monitor`` figure."""
        if not len(self):
            raise ValueError("this History is empty: no epoch has been recorded")
        values = self.metrics[self.monitor]
        sign = -1.0 if self.monitor.endswith("loss") else 1.0
        return self.epoch(max(range(len(self)), key=lambda e: sign * values[e]))

    def to_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.metrics.items()} | {"lr": list(self.lr)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[float]]) -> History:
        data = dict(data)
        lr = data.pop("lr", ())
        return cls(data, lr)


def _check_schedule(lr_schedule) -> str:
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    return lr_schedule


def _make_scheduler(optimizer, lr_schedule: str, lr: float, total_steps: int):
    """None for a constant rate; else torch's OneCycleLR stepped once per batch.

    The warm-up takes 10% of the steps, and at least 2 so that a very short
    run still warms up and decays (OneCycleLR divides by zero otherwise); a
    run of fewer than 4 steps is too short for a cycle and keeps ``lr``.
    """
    if lr_schedule == "constant" or total_steps < 4:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=lr,
        total_steps=total_steps,
        pct_start=max(0.1, 2 / total_steps),
        cycle_momentum=False,
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


def _modules(modules) -> tuple[nn.Module, ...]:
    if isinstance(modules, nn.Module):
        return (modules,)
    modules = tuple(modules) if isinstance(modules, Iterable) and not isinstance(modules, str) else None
    if not modules or not all(isinstance(m, nn.Module) for m in modules):
        raise TypeError("modules must be an nn.Module or a non-empty list of them")
    return modules


def fit(
    modules: nn.Module | Sequence[nn.Module],
    train: MultimodalDataset,
    step: StepFn,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
    lr_schedule: str = "constant",
    transform: Transform | None = None,
    validate: Callable[[], Mapping[str, float]] | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    desc: str = "training",
) -> History:
    """Train the parameters of ``modules`` with AdamW, calling ``step(inputs, labels)`` on each batch.

    ``step`` returns batch means ``{"loss": ..., name: ...}`` (see the module
    docstring); ``fit`` backpropagates ``"loss"`` and records every figure as
    ``train_<name>``, averaged over the epoch's samples. ``transform(inputs,
    labels) -> inputs`` is applied to each training batch before ``step``.
    ``validate()`` is called after every epoch in eval mode; its figures are
    recorded as ``val_<name>``. With ``checkpoint``, the run is saved there
    after every epoch; with ``resume=True`` too, a run that was interrupted
    continues from the last saved epoch and ends where an uninterrupted run
    ends (on the CPU; a ``transform`` with a generator of its own is not saved).
    Modules are left in train mode with their final weights.
    """
    modules = _modules(modules)
    check_dataset(train, "train")
    if not callable(step):
        raise TypeError(f"step must be a function (inputs, labels) -> dict, got {type(step).__name__}")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_number(lr, "lr", positive=True)
    weight_decay = check_number(weight_decay, "weight_decay", minimum=0.0)
    seed = check_seed(seed)
    lr_schedule = _check_schedule(lr_schedule)
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str (the progress bar's label), got {desc!r}")
    if transform is not None and not callable(transform):
        raise TypeError(
            f"transform must be a function (inputs, labels) -> inputs, got {type(transform).__name__}"
        )
    if validate is not None and not callable(validate):
        raise TypeError(f"validate must be a function () -> dict of figures, got {type(validate).__name__}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path to resume from")
    device = check_device(device) if device is not None else device_of(*modules)
    for m in modules:
        m.to(device)
    rank, world = rank_and_world()
    if batch_size % world:
        raise ValueError(f"batch_size ({batch_size}) must split evenly over the {world} processes")

    torch.manual_seed(seed)
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    if not params:
        raise ValueError("modules have no trainable parameters (all frozen?)")
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    n = len(train)
    last = n % batch_size
    steps_per_epoch = n // batch_size + (last >= 2 and last % world == 0)  # a last batch of one is skipped
    if steps_per_epoch == 0:
        raise ValueError(f"train has {n} sample; training needs at least 2")
    scheduler = _make_scheduler(optimizer, lr_schedule, lr, epochs * steps_per_epoch)
    history = History()
    config = {
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "seed": seed,
        "n": n,
        "lr_schedule": lr_schedule,
        "weight_decay": weight_decay,
    }  # a resumed run must match all of it
    start = 0
    if resume and os.path.exists(checkpoint):
        start = _restore(load_checkpoint(checkpoint), modules, optimizer, scheduler, config, history)

    epoch_seeds = _epoch_seeds(seed, epochs)
    bar = trange(start, epochs, desc=desc, disable=not progress or rank != 0, initial=start, total=epochs)
    for epoch in bar:
        for m in modules:
            m.train()
        sums: dict[str, torch.Tensor] = {}
        seen = 0
        last_lr = optimizer.param_groups[0]["lr"]
        for inputs, labels in batches(train, batch_size, shuffle=True, seed=epoch_seeds[epoch]):
            if len(labels) < 2 or len(labels) % world:
                continue
            if world > 1:  # this rank's slice of the global batch
                share = slice(rank * len(labels) // world, (rank + 1) * len(labels) // world)
                inputs, labels = {k: v[share] for k, v in inputs.items()}, labels[share]
            inputs, labels = {k: v.to(device) for k, v in inputs.items()}, labels.to(device)
            if transform is not None:
                inputs = transform(inputs, labels)
            optimizer.zero_grad()
            out = step(inputs, labels)
            if out is None:
                continue
            if "loss" not in out:
                raise KeyError(f"step must return a dict with a 'loss' entry, got keys {sorted(out)}")
            out["loss"].backward()
            optimizer.step()
            last_lr = optimizer.param_groups[0]["lr"]  # the rate this step used
            if scheduler is not None:
                scheduler.step()
            b = len(labels)
            for name, value in out.items():
                value = torch.as_tensor(value).detach().to(device)
                sums[name] = sums.get(name, torch.zeros((), device=device)) + value * b  # one sync per epoch
            seen += b
        if world > 1:  # figures over all ranks: sum the weighted sums and the counts
            names = sorted(sums)
            packed = torch.stack([sums[k] for k in names] + [torch.tensor(float(seen), device=device)])
            torch.distributed.all_reduce(packed)
            sums, seen = dict(zip(names, packed[:-1], strict=True)), int(packed[-1].item())
        if not seen:
            raise ValueError(
                f"step returned None for every batch of epoch {epoch} (batch_size={batch_size}): "
                "nothing was trained"
            )
        _check_finite(sums["loss"], epoch)
        figures = {f"train_{name}": total.item() / seen for name, total in sums.items()}
        if validate is not None:
            with eval_mode(*modules):
                scores = validate()
            if not isinstance(scores, Mapping):
                raise TypeError(f"validate must return a dict of figures, got {type(scores).__name__}")
            figures |= {f"val_{name}": float(value) for name, value in scores.items()}
        history.log(figures, last_lr)
        bar.set_postfix({k.replace("train_", ""): f"{v:.3f}" for k, v in figures.items()})
        if checkpoint is not None:
            if rank == 0:
                save_checkpoint(checkpoint, _state(modules, optimizer, scheduler, config, history, epoch + 1))
            if world > 1:
                torch.distributed.barrier()  # no rank runs ahead of a checkpoint it might resume from
    for m in modules:
        m.train()
    return history


def _unwrapped(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper, so checkpoints load on any number of processes."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def _state(modules, optimizer, scheduler, config, history, epochs_done) -> dict:
    """Everything ``fit`` needs to continue a run after ``epochs_done`` epochs."""
    return {
        "modules": [_unwrapped(m).state_dict() for m in modules],
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else {},
        "config": config,
        "history": history.to_dict(),
        "epochs_done": epochs_done,
        "torch_rng": torch.get_rng_state(),
    }


def _restore(state, modules, optimizer, scheduler, config, history) -> int:
    """Load a ``_state`` dict into the run; returns the epoch to continue from."""
    if state.get("config") != config:
        raise ValueError(
            f"checkpoint was made by another run ({state.get('config')}), not this one ({config}); "
            "use another checkpoint path or the same settings"
        )
    if len(state["modules"]) != len(modules):
        raise ValueError(f"checkpoint holds {len(state['modules'])} modules, this run trains {len(modules)}")
    for m, sd in zip(modules, state["modules"], strict=True):
        _unwrapped(m).load_state_dict(sd)
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    restored = History.from_dict(state["history"])
    history.metrics, history.lr = restored.metrics, restored.lr
    torch.set_rng_state(state["torch_rng"])
    return int(state["epochs_done"])


def classification_step(
    model: nn.Module, loss_fn: Callable | None = None, *, max_label: int | None = None
) -> StepFn:
    """A step for any model mapping ``{modality: batch}`` to (B, C) logits: loss and accuracy.

    ``loss_fn(logits, labels)`` defaults to the model's own ``training_step``
    when it has one (late fusion trains each unimodal classifier on its own),
    else to cross-entropy. ``max_label``: the largest label of the data; the
    first batch checks that the model has that many outputs.
    """
    check_module(model, "model")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (logits, labels) -> loss, got {type(loss_fn).__name__}")
    if max_label is not None and (
        isinstance(max_label, bool) or not isinstance(max_label, int) or max_label < 0
    ):
        raise ValueError(f"max_label must be None or a class index >= 0, got {max_label!r}")
    num_classes = getattr(model, "num_classes", None)  # a fusion model knows it before any batch
    if max_label is not None and isinstance(num_classes, int) and num_classes <= max_label:
        raise ValueError(
            f"the labels go up to {max_label} but the model has num_classes={num_classes}: "
            f"it needs (B, {max_label + 1}) or more classes"
        )
    pending_check = max_label is not None  # the first batch compares the logits' width with max_label

    def step(inputs: dict[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
        nonlocal pending_check
        if not isinstance(labels, torch.Tensor):
            raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
        if loss_fn is None and hasattr(model, "training_step"):
            loss, logits = model.training_step(inputs, labels)  # the model knows its own loss
        else:
            logits = model(inputs)  # (B, C)
            loss = None
        if pending_check:
            if logits.dim() != 2 or logits.shape[1] <= max_label:
                raise ValueError(
                    f"the labels go up to {max_label} but the model returns logits of shape "
                    f"{tuple(logits.shape)}: it needs (B, {max_label + 1}) or more classes"
                )
            pending_check = False
        if loss_fn is None:  # class indices, for cross-entropy and the accuracy
            labels = check_batch_labels(labels, logits)
        if loss is None:
            loss = (loss_fn or F.cross_entropy)(logits, labels)
        accuracy = (logits.detach().argmax(dim=1) == labels).float().mean()
        return {"loss": loss, "accuracy": accuracy}

    return step


def contrastive_step(
    image_encoder: nn.Module, text_encoder: nn.Module, loss_module: nn.Module, image_key: str, text_key: str
) -> StepFn:
    """A step for two encoders and a pair loss: the loss and the in-batch image -> text top-1 accuracy."""
    for name, module in (
        ("image_encoder", image_encoder),
        ("text_encoder", text_encoder),
        ("loss_module", loss_module),
    ):
        check_module(module, name)
    for name, key in (("image_key", image_key), ("text_key", text_key)):
        if not isinstance(key, str) or not key:
            raise TypeError(f"{name} must be the name of a modality (a str), got {key!r}")

    def step(inputs: dict[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
        if not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a dict of modality name -> tensor, got {type(inputs).__name__}")
        for key in (image_key, text_key):
            if key not in inputs:
                raise KeyError(f"inputs have no modality '{key}'; they have {sorted(inputs)}")
        check_modalities({image_key: inputs[image_key], text_key: inputs[text_key]})  # one batch of pairs
        image_features = image_encoder(inputs[image_key])  # (B, D)
        text_features = text_encoder(inputs[text_key])  # (B, D)
        loss = loss_module(image_features, text_features)
        img = F.normalize(image_features.detach(), dim=-1)
        txt = F.normalize(text_features.detach(), dim=-1)
        similarity = img @ txt.T  # (B, B) cosine similarities; pair i is on the diagonal
        hits = similarity.argmax(dim=1) == torch.arange(len(img), device=img.device)
        return {"loss": loss, "batch_accuracy": hits.float().mean()}

    return step


def train_classifier(
    model: nn.Module,
    train: MultimodalDataset,
    val: MultimodalDataset | None = None,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    **options,
) -> History:
    """Train ``model`` (inputs dict -> (B, C) logits): ``fit`` with ``classification_step``.

    History: ``train_loss``, ``train_accuracy`` and, with ``val``,
    ``val_accuracy``. ``options`` are ``fit``'s (epochs, lr, batch_size, ...).
    """
    check_module(model, "model")
    check_dataset(train, "train")
    max_label = None
    if loss_fn is None:  # class indices for cross-entropy
        for name, data in (("train", train), ("val", val)):
            if data is not None:
                check_dataset(data, name)
                check_labels(data.labels, f"{name}.labels")
        max_label = int(train.labels.max())
    validate = None
    if val is not None:

        def validate():
            return {"accuracy": evaluate(model, val, batch_size=256)}

    return fit(
        model, train, classification_step(model, loss_fn, max_label=max_label), validate=validate, **options
    )


def train_contrastive(
    image_encoder: nn.Module,
    text_encoder: nn.Module,
    pairs: MultimodalDataset,
    loss_module: nn.Module,
    val: MultimodalDataset | None = None,
    *,
    image_key: str = "image",
    text_key: str = "text",
    **options,
) -> History:
    """Train two encoders so that row i of ``pairs[image_key]`` and ``pairs[text_key]`` match.

    ``loss_module(image_features, text_features)`` is e.g. ``ClipLoss()``;
    its own parameters (a learnable temperature) are trained too. The other
    pairs of a batch are its negatives, so ``batch_size`` must be at least 2.
    The labels of ``pairs`` are not used. History: ``train_loss``,
    ``train_batch_accuracy`` (in-batch image -> text top-1) and, with
    ``val``, ``val_recall_at_1`` (image -> text over all validation pairs).
    """
    check_dataset(pairs, "pairs")
    step = contrastive_step(image_encoder, text_encoder, loss_module, image_key, text_key)  # checks them all
    for name, key in (("image_key", image_key), ("text_key", text_key)):
        if key not in pairs.modalities:
            raise KeyError(f"{name} '{key}' is not a modality of pairs; it has {sorted(pairs.modalities)}")
    if len(pairs) < 2:
        raise ValueError("pairs must hold at least 2 pairs: the other pairs in a batch are the negatives")
    batch_size = options.get("batch_size")
    if isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size == 1:
        raise ValueError("batch_size must be at least 2: the other pairs in a batch are the negatives")
    validate = None
    if val is not None:
        check_dataset(val, "val")
        for name, key in (("image_key", image_key), ("text_key", text_key)):
            if key not in val.modalities:
                raise KeyError(f"{name} '{key}' is not a modality of val; it has {sorted(val.modalities)}")

        def validate():
            images, texts = val.modalities[image_key], val.modalities[text_key]
            return {
                "recall_at_1": recall_at_k(
                    cross_modal_similarity(image_encoder, text_encoder, images, texts), 1
                )
            }

    options.setdefault("desc", "contrastive training")
    return fit((image_encoder, text_encoder, loss_module), pairs, step, validate=validate, **options)
