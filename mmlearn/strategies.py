"""Training strategies for multimodal models: staged training, modality dropout, augmentation, linear probes.

Taught in lesson 05 (sections 3, "Staged training", 4, "Modality dropout", and 5, "Linear probes");
``SquareSymmetries``, augmentation by the symmetries of the square, in lesson 09 (section 2, "Models on
each modality and on both").

Training every part of a fusion model together (joint training) is the
default, but it has two known weak spots. A model that always sees every
modality learns to lean on the easiest one and breaks when that one is
missing at test time; *modality dropout* hides modalities during training so
the model learns to cope. And the modalities compete for the gradient
("modality competition"), so one encoder may stay under-trained; *staged
training* first trains each encoder on its own modality, then fuses them,
with the encoders frozen or fine-tuned. A *linear probe* (a logistic
regression on an encoder's frozen features) measures how much each encoder
learned, whatever the fusion head on top of it does with its features.
Augmentation by a true symmetry of the data (``SquareSymmetries``) shows the
model more of what it must learn without a single new case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from mmlearn.data.base import MultimodalDataset
from mmlearn.fusion import make_fusion_model
from mmlearn.fusion.base import check_encoders
from mmlearn.inference import check_dataset, embed
from mmlearn.training import History, train_classifier
from mmlearn.validation import (
    check_modalities,
    check_module,
    check_names,
    check_number,
    check_positive_int,
    check_seed,
)

__all__ = [
    "ModalityDropout",
    "SquareSymmetries",
    "FrozenEncoder",
    "unimodal",
    "pretrain_encoder",
    "staged_training",
    "linear_probe",
]


class ModalityDropout:
    """A training transform ``(inputs, labels) -> inputs`` that hides modalities with probability ``p``.

    ``per_sample=True``: each (sample, modality) is zeroed with probability
    ``p``, but a sample never loses all of its modalities (one of the dropped
    ones is put back at random). ``per_sample=False``: each modality's key is
    removed from the whole batch with probability ``p`` (at least one key is
    kept), which matches a model that fills a missing modality itself, such as
    ``missing="zeros"`` or gated fusion. Only the names in ``modalities`` (all
    by default) may be dropped. Deterministic per ``seed``; the inputs are not
    modified in place.
    """

    def __init__(
        self, p: float, modalities: Sequence[str] | None = None, *, per_sample: bool = True, seed: int = 0
    ):
        p = check_number(p, "p")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must be a probability in [0, 1), got {p!r}")
        if modalities is not None:
            modalities = check_names(modalities, "modalities")  # "image" alone would be split into letters
        check_seed(seed)
        self.p = float(p)
        self.modalities = modalities
        self.per_sample = bool(per_sample)
        self.generator = torch.Generator().manual_seed(seed)

    def _droppable(self, inputs) -> list[str]:
        names = [m for m, x in inputs.items() if x is not None]
        if self.modalities is None:
            return names
        unknown = sorted(set(self.modalities) - set(inputs))
        if unknown:
            raise KeyError(f"cannot drop modality {unknown}: the batch has {sorted(inputs)}")
        return [m for m in names if m in self.modalities]

    def __call__(self, inputs: dict[str, torch.Tensor], labels: torch.Tensor | None = None) -> dict:
        batch = check_modalities(inputs)
        names = self._droppable(inputs)
        if not names or self.p == 0.0:
            return dict(inputs)
        all_present = [m for m, x in inputs.items() if x is not None]
        if not self.per_sample:
            drop = torch.rand(len(names), generator=self.generator) < self.p  # (M,)
            if drop.all() and len(names) == len(all_present):  # keep at least one modality
                drop[torch.randint(len(names), (1,), generator=self.generator)] = False
            gone = {m for m, d in zip(names, drop.tolist(), strict=True) if d}
            return {m: x for m, x in inputs.items() if m not in gone}
        drop = torch.rand(batch, len(names), generator=self.generator) < self.p  # (B, M)
        if len(names) == len(all_present):
            # a sample that lost everything gets one of its modalities back, chosen at random
            all_gone = drop.all(dim=1)  # (B,)
            back = torch.randint(len(names), (batch,), generator=self.generator)  # (B,)
            drop[all_gone, back[all_gone]] = False
        out = dict(inputs)
        for j, m in enumerate(names):
            x = inputs[m]
            keep = (~drop[:, j]).to(device=x.device, dtype=x.dtype)  # (B,)
            out[m] = x * keep.view(-1, *([1] * (x.dim() - 1)))  # zero the dropped samples
        return out

    def __repr__(self) -> str:
        return f"ModalityDropout(p={self.p}, modalities={self.modalities}, per_sample={self.per_sample})"


class SquareSymmetries:
    """A training transform ``(inputs, labels) -> inputs``: each picture turned by a symmetry of the square.

    Each (C, H, W) picture of ``inputs[modality]``, a (B, C, H, W) batch of
    square pictures, gets its own draw of three coin flips: transpose it
    (swap rows and columns), mirror it left to right, mirror it top to
    bottom. The 8 outcomes are exactly the 8 symmetries of the square (the
    identity, three rotations by 90, 180 and 270 degrees, and four mirror
    images), each with probability 1/8. Labels and the other modalities are
    left alone; the inputs are not modified in place. Deterministic per ``seed``.

    Why: an augmentation is only honest when the label cannot depend on
    what it changes. The clinical lesions of lesson 09 are such a case: every
    angle in their generator (the outline's phases, the patches' positions,
    the lighting direction) is uniform over the circle and the centre's
    jitter is uniform over a square, so a turned or mirrored lesion is just
    as likely a picture, with the same ABCD factors and the same diagnosis.
    Each training picture then stands for 8, and the image model gets closer
    to its Bayes limit without a single new case. A digit or a written word
    has no such symmetry (a mirrored 2 is not a 2).
    """

    def __init__(self, modality: str = "image", *, seed: int = 0):
        if not isinstance(modality, str) or not modality:
            raise TypeError(f"modality must be the name of the picture modality (a str), got {modality!r}")
        check_seed(seed)
        self.modality = modality
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, inputs: dict[str, torch.Tensor], labels: torch.Tensor | None = None) -> dict:
        check_modalities(inputs)
        if inputs.get(self.modality) is None:
            raise KeyError(f"modality '{self.modality}' is not in the batch; it has {sorted(inputs)}")
        x = inputs[self.modality]  # (B, C, H, W)
        if x.dim() != 4 or x.shape[-1] != x.shape[-2]:
            raise ValueError(
                f"modality '{self.modality}' must be a (B, C, H, W) batch of square pictures, "
                f"got shape {tuple(x.shape)}"
            )
        coins = torch.rand(x.shape[0], 3, generator=self.generator) < 0.5  # (B, 3): transpose, flip W, flip H
        coins = coins.to(x.device)[:, :, None, None, None]  # (B, 3, 1, 1, 1), broadcasts over (B, C, H, W)
        x = torch.where(coins[:, 0], x.transpose(-2, -1), x)
        x = torch.where(coins[:, 1], x.flip(-1), x)
        x = torch.where(coins[:, 2], x.flip(-2), x)
        return {**inputs, self.modality: x}


class FrozenEncoder(nn.Module):
    """Wraps a trained encoder so that fusion training leaves it untouched.

    Its parameters stop requiring gradients and it stays in eval mode even
    when the fusion model calls ``.train()``: batch-norm running statistics
    would otherwise keep moving although the weights are frozen (in train
    mode a BatchNorm layer normalises with each batch's own statistics and
    updates its running mean and variance, which no optimizer controls). The
    reference of lesson 05's exercise 05.1.
    """

    def __init__(self, encoder: nn.Module):
        super().__init__()
        check_encoders({"encoder": check_module(encoder, "encoder")})
        self.encoder = encoder
        self.out_dim = encoder.out_dim
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.encoder.eval()

    def train(self, mode: bool = True) -> FrozenEncoder:
        super().train(mode)
        self.encoder.eval()  # always
        return self

    def tokens(self, x: torch.Tensor):
        return self.encoder.tokens(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, out_dim)


def unimodal(dataset: MultimodalDataset, modality: str) -> MultimodalDataset:
    """The same samples and labels with only ``modality`` kept."""
    if not isinstance(dataset, MultimodalDataset):
        raise TypeError(f"dataset must be a mmlearn.data.MultimodalDataset, got {type(dataset).__name__}")
    if modality not in dataset.modalities:
        raise KeyError(f"dataset has no modality {modality!r}; it has {sorted(dataset.modalities)}")
    return MultimodalDataset({modality: dataset.modalities[modality]}, dataset.labels, dataset.info)


def pretrain_encoder(
    encoder: nn.Module,
    modality: str,
    train: MultimodalDataset,
    val: MultimodalDataset | None = None,
    *,
    num_classes: int,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Stage 1: train ``encoder`` with a linear head on ``modality`` alone (trained in place)."""
    check_dataset(train, "train")
    if val is not None:
        check_dataset(val, "val")
    model = make_fusion_model("intermediate", {modality: encoder}, num_classes, hidden=None)
    val = unimodal(val, modality) if val is not None else None
    return train_classifier(
        model, unimodal(train, modality), val,
        epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, progress=progress,
    )  # fmt: skip


def staged_training(
    encoders: dict[str, nn.Module],
    train: MultimodalDataset,
    val: MultimodalDataset | None = None,
    *,
    num_classes: int,
    method: str = "intermediate",
    freeze: bool | Callable[[nn.Module], nn.Module] = True,
    pretrain_epochs: int,
    fuse_epochs: int,
    lr: float,
    fuse_lr: float | None = None,
    batch_size: int,
    seed: int = 0,
    progress: bool = True,
    **options,
) -> tuple[nn.Module, dict[str, History]]:
    """Pretrain each encoder on its own modality, then train a fusion model on top of them.

    ``freeze=True`` keeps the pretrained encoders fixed (only the fusion head
    learns) by wrapping each in ``FrozenEncoder``; ``freeze`` may also be the
    wrapper itself (a class or function ``encoder -> module``, such as the
    student's ``FrozenEncoder`` of lesson 05). ``freeze=False`` fine-tunes the
    encoders with the head, at ``fuse_lr`` (default ``lr``). ``options`` go to
    ``make_fusion_model``. Returns the fusion model and the histories: one per
    modality, then ``"fusion"``.
    """
    if freeze is True:
        freeze = FrozenEncoder
    elif freeze is not False and not callable(freeze):
        raise TypeError(f"freeze must be True, False or a wrapper (encoder -> frozen module), got {freeze!r}")
    encoders = check_encoders(encoders)
    check_dataset(train, "train")
    missing = sorted(set(encoders) - set(train.modalities))
    if missing:
        raise KeyError(
            f"no training data for encoder(s) {missing}; the dataset has {sorted(train.modalities)}"
        )
    check_positive_int(pretrain_epochs, "pretrain_epochs")
    check_positive_int(fuse_epochs, "fuse_epochs")
    seed = check_seed(seed)
    if fuse_lr is not None:
        check_number(fuse_lr, "fuse_lr", positive=True)
    histories: dict[str, History] = {}
    for i, (m, enc) in enumerate(encoders.items()):
        histories[m] = pretrain_encoder(
            enc, m, train, val, num_classes=num_classes, epochs=pretrain_epochs,
            lr=lr, batch_size=batch_size, seed=seed + i, progress=progress,
        )  # fmt: skip
    fused = {m: freeze(e) for m, e in encoders.items()} if freeze else encoders
    model = make_fusion_model(method, fused, num_classes, **options)
    histories["fusion"] = train_classifier(
        model, train, val, epochs=fuse_epochs, lr=fuse_lr if fuse_lr is not None else lr,
        batch_size=batch_size, seed=seed + len(encoders), progress=progress,
    )  # fmt: skip
    return model, histories


def linear_probe(
    encoder: nn.Module,
    modality: str,
    train: MultimodalDataset,
    test: MultimodalDataset,
    *,
    C: float = 1.0,
    batch_size: int = 256,
) -> float:
    """Test accuracy of a logistic regression on the frozen features of ``encoder`` (a linear probe).

    The encoder (in eval mode, no gradients) turns ``train`` and ``test``'s
    ``modality`` into (N, D) features; each feature is standardised with the
    training mean and standard deviation; a multinomial logistic regression
    (scikit-learn, L-BFGS, L2 strength ``1 / C``) is fitted on the training
    features and labels and scored on the test ones. The encoder is not
    changed. Deterministic: no random numbers are drawn.
    """
    check_module(encoder, "encoder")
    check_dataset(train, "train")
    check_dataset(test, "test")
    if not isinstance(modality, str):
        raise TypeError(f"modality must be the name of a modality (a str), got {modality!r}")
    for name, data in (("train", train), ("test", test)):
        if modality not in data.modalities:
            raise KeyError(f"{name} has no modality {modality!r}; it has {sorted(data.modalities)}")
    C = check_number(C, "C", positive=True)
    batch_size = check_positive_int(batch_size, "batch_size")
    train_x = embed(encoder, train.modalities[modality], batch_size).double()  # (N, D)
    test_x = embed(encoder, test.modalities[modality], batch_size).double()  # (M, D)
    mean, std = train_x.mean(dim=0), train_x.std(dim=0).clamp_min(1e-8)
    probe = LogisticRegression(C=C, max_iter=5000)
    probe.fit(((train_x - mean) / std).numpy(), train.labels.cpu().numpy())
    return float(probe.score(((test_x - mean) / std).numpy(), test.labels.cpu().numpy()))
