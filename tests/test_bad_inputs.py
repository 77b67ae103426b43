"""Every public callable of the package answers a bad argument with an error that names it.

A property test over the whole package (the issue "Nothing a student or a
network does breaks a lesson", point 2). ``CASES`` holds one valid call per
public callable (and per method that takes user input). The test replaces one
argument at a time with each bad value of that argument's kind (``BAD``: None,
a string, a bool, NaN, inf, -1, 0, an empty tensor, a float64 tensor of the
wrong shape, a tensor with a NaN, a list of strings, batch sizes that differ
...) and calls again. Each try must end in one of two ways:

* a ValueError, TypeError or KeyError (or a package exception derived from
  them) whose message names the argument: its name, or a phrase listed in
  ``ALIASES`` or in the case's ``alias``;
* a finite result, where the case's ``accept`` table says why that value is
  in fact fine.

Anything else fails: a torch or NumPy error from deep inside (RuntimeError,
IndexError, a message that names nothing the caller passed), a silent result
for a bad value, or NaN/inf in an accepted result.

``COVERAGE_SKIPS`` lists, with a reason, the public callables that are not
tried. Run ``python tests/test_bad_inputs.py`` for the counts (tried / clear
error / accepted / other) and the list of failures.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import inspect
import io
import math
import os
import pkgutil
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import mmlearn
from mmlearn import (
    adversarial,
    attribution,
    calibration,
    caption_eval,
    caption_plots,
    captioning,
    checkpoints,
    data_checks,
    ddp_check,
    decoding,
    distributed,
    inference,
    latency,
    lesion_encoders,
    losses,
    metrics,
    modality_shapley,
    posterior_fusion,
    recipes,
    report,
    robust_fusion,
    robustness,
    runtime,
    strategies,
    training,
    validation,
    vqa,
    vqa_training,
)
from mmlearn import train as train_cli
from mmlearn.data import MultimodalDataset, Vocabulary, make_scenes
from mmlearn.data.scene_questions import sort_of_clevr
from mmlearn.encoders import (
    AudioEncoder,
    ImageEncoder,
    MLPEncoder,
    SensorEncoder,
    SimpleSensorEncoder,
    TextEncoder,
)
from mmlearn.encoders import image as image_encoders
from mmlearn.encoders.audio import WaveformEncoder
from mmlearn.fusion import (
    AttentionFusion,
    EarlyFusion,
    GatedFusion,
    IntermediateFusion,
    LateFusion,
    LowRankFusion,
    TensorFusion,
    UnimodalClassifier,
    make_fusion_model,
    outer_product,
)
from mmlearn.fusion import base as fusion_base
from mmlearn.shared_space import ProjectionHead


def _data_module(name: str):
    """A submodule of mmlearn.data (``mmlearn.data.av_digits`` is also the name of a function there)."""
    return importlib.import_module(f"mmlearn.data.{name}")


audio_features, av_digits, base = (
    _data_module("audio_features"),
    _data_module("av_digits"),
    _data_module("base"),
)
clinical, clinical_model = _data_module("clinical"), _data_module("clinical_model")
corruption, lesion_images = _data_module("corruption"), _data_module("lesion_images")
scene_captions, scene_questions = _data_module("scene_captions"), _data_module("scene_questions")
scene_render, sensors = _data_module("scene_render"), _data_module("sensors")
spoken_digits, text = _data_module("spoken_digits"), _data_module("text")

NAN, INF = float("nan"), float("inf")
N = 6  # samples in every batch and dataset here
SKIP_PACKAGES = (
    "mmlearn.course",
    "mmlearn.exercises",
    "mmlearn.grade",  # the classroom grader: its bad inputs are tested in test_grade*.py
    "mmlearn.data.real",
    "mmlearn.data.download",
)


# --- bad values, by kind of argument ---------------------------------------------------------------


def _with_nan(x, value=NAN):
    """A copy of a float tensor or array with one entry set to ``value``."""
    y = x.clone() if isinstance(x, torch.Tensor) else np.array(x, dtype=np.float64)
    y.reshape(-1)[0] = value
    return y


def _set_first(x, value):
    """A copy of an integer tensor or array with its first entry set to ``value``."""
    y = x.clone() if isinstance(x, torch.Tensor) else np.array(x)
    y.reshape(-1)[0] = value
    return y


def _as(x, like):
    """``x`` (a tensor) as the type of ``like`` (tensor or array)."""
    return x if isinstance(like, torch.Tensor) else x.numpy()


def _t(x):
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def _float_tensor_values(x):
    t = _t(x)
    return [
        ("none", None),
        ("str", "abc"),
        ("list_str", ["a", "b"]),
        ("empty", _as(t[:0], x)),
        ("nan", _with_nan(x)),
        ("inf", _with_nan(x, INF)),
        ("wrong_shape", _as(t.double().unsqueeze(-1), x)),  # a float64 tensor with an extra dimension
        ("int_dtype", _as(t.round().long(), x)),
    ]


def _index_tensor_values(x):
    """Class labels or token ids: an integer tensor."""
    t = _t(x)
    return [
        ("none", None),
        ("str", "abc"),
        ("list_str", ["a", "b"]),
        ("empty", _as(t[:0], x)),
        ("float_dtype", _as(t.float() + 0.5, x)),
        ("nan", _as(_with_nan(t.float()), x)),
        ("out_of_range", _set_first(x, 1000)),
        ("negative", _set_first(x, -1)),
        ("wrong_shape", _as(t.unsqueeze(-1), x)),
    ]


def _inputs_values(x):
    """A {modality: batch} dict."""
    first = next(iter(x))
    return [
        ("none", None),
        ("str", "abc"),
        ("list", list(x.values())),
        ("empty", {}),
        ("unknown_key", {**x, "no_such_modality": x[first]}),
        ("mismatch", {**x, first: x[first][:-1]}),  # one modality has one sample fewer
        ("nan", {**x, first: _with_nan(x[first].float())}),
        ("value_str", {**x, first: "abc"}),
    ]


def _numbers_values(x):
    """A sequence of numbers (levels, fractions, weights)."""
    return [
        ("none", None),
        ("str", "abc"),
        ("empty", []),
        ("str_items", ["a"] * len(x)),
        ("nan", [NAN] * len(x)),
        ("inf", [INF] * len(x)),
        ("negative", [-1.0] * len(x)),
    ]


def _fixed(*values):
    """Bad values that do not depend on the valid one."""
    return lambda valid: list(values)


NONE, STR, BOOL = ("none", None), ("str", "3"), ("bool", True)

# kind -> function(valid value) -> [(label, bad value)]. A kind ending in "?" (in a case's ``kinds``) takes
# None as valid, as does every parameter whose default is None.
BAD: dict[str, Callable[[object], list[tuple[str, object]]]] = {
    # numbers
    "int": _fixed(NONE, STR, BOOL, ("zero", 0), ("neg", -1), ("float", 2.5), ("nan", NAN), ("inf", INF)),
    "count": _fixed(NONE, STR, BOOL, ("neg", -1), ("float", 2.5), ("nan", NAN)),  # 0 is fine
    "seed": _fixed(NONE, STR, BOOL, ("neg", -1), ("float", 2.5), ("nan", NAN)),
    "float": _fixed(NONE, STR, BOOL, ("nan", NAN), ("inf", INF), ("neg", -1.0)),  # >= 0
    "real": _fixed(NONE, STR, BOOL, ("nan", NAN), ("inf", INF)),  # any finite number
    "prob": _fixed(NONE, STR, BOOL, ("nan", NAN), ("inf", INF), ("neg", -0.5), ("big", 1.5)),  # in [0, 1]
    "third": _fixed(NONE, STR, ("out_of_range", 3), ("neg", -1), ("float", 0.5)),  # 0, 1 or 2
    "class": _fixed(NONE, STR, ("float", 0.5), ("out_of_range", 2), ("neg", -1)),  # 0 or 1
    # names and text
    "choice": _fixed(NONE, ("int", 3), ("unknown", "no_such_name")),
    "text": _fixed(NONE, ("int", 3)),
    "names": _fixed(("str", "abc"), ("empty", []), ("ints", [1, 2]), ("unknown", ["no_such_name"])),
    "path": _fixed(NONE, ("int", 3)),
    "device": _fixed(NONE, ("unknown", "no_such_device"), ("list", [1])),
    "bool_strict": _fixed(NONE, ("str", "yes"), ("int", 2)),  # a claim's outcome: True or False only
    # tensors, arrays and sequences
    "tensor": _float_tensor_values,
    "labels": _index_tensor_values,
    "inputs": _inputs_values,
    "numbers": _numbers_values,
    "index": _fixed(
        NONE,
        ("str", "abc"),
        ("float", [0.5]),
        ("nan", [NAN]),
        ("out_of_range", [1000]),
        ("bool_list", [True, False]),
    ),
    "tensors": lambda v: [  # a list of (B, n) tensors
        NONE,
        ("str", "abc"),
        ("empty", []),
        ("list_str", ["a", "b"]),
        ("mismatch", [v[0], v[1][:-1]]),
        ("nan", [_with_nan(v[0]), v[1]]),
    ],  # fmt: skip
    # objects
    "dataset": lambda v: [NONE, ("str", "abc"), ("dict", dict(v.modalities))],
    "module": _fixed(NONE, ("str", "abc"), ("function", lambda x: x)),
    "callable": _fixed(NONE, ("str", "abc"), ("int", 3)),
    "mapping": _fixed(NONE, ("str", "abc"), ("list", [1, 2])),
    "object": _fixed(NONE, ("str", "abc"), ("int", 3)),
}

# Messages may name an argument of these kinds by a phrase instead of its name.
ALIASES = {
    "inputs": ("modality", "modalities"),
}


def infer_kind(name: str, value) -> str | None:
    """The kind of a valid argument value; None: not tried (bools, None defaults, other objects)."""
    if isinstance(value, bool) or value is None:
        return None
    if name == "seed":
        return "seed"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "choice"
    if isinstance(value, torch.Tensor | np.ndarray):
        return "tensor" if np.issubdtype(_t(value).numpy().dtype, np.floating) else "labels"
    if isinstance(value, MultimodalDataset):
        return "dataset"
    if isinstance(value, nn.Module):
        return "module"
    if isinstance(value, Mapping) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
        return "inputs"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return "names"
    if isinstance(value, list | tuple) and value and all(isinstance(v, int | float) for v in value):
        return "numbers"
    if callable(value):
        return "callable"
    return None


# --- the table of valid calls ----------------------------------------------------------------------


@dataclass
class Case:
    """One valid call: ``make()`` returns ``(callable, kwargs)``, fresh each time.

    kinds: argument -> kind, overriding ``infer_kind`` ("skip" = not tried; say why in a comment).
    batch: arguments that share the batch (first) dimension; each is also tried one row short.
    alias: argument -> other words a message may use for it.
    accept: "argument:label" -> why that bad value is fine (the call must then return a finite result).
    """

    name: str
    make: Callable[[], tuple[Callable, dict]]
    kinds: dict[str, str] = field(default_factory=dict)
    batch: tuple[str, ...] = ()
    alias: dict[str, tuple[str, ...]] = field(default_factory=dict)
    accept: dict[str, str] = field(default_factory=dict)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def images(n=N):
    return torch.rand(n, 1, 8, 8, generator=_gen(1))


def audio(n=N):
    return torch.randn(n, 3, 6, generator=_gen(2))


def labels(n=N):
    return torch.arange(n) % 3


def token_ids(n=N):
    ids = torch.randint(4, 10, (n, 5), generator=_gen(3))
    ids[::2, 3:] = 0  # right padding
    return ids


def av_inputs(n=N):
    return {"image": images(n), "audio": audio(n)}


def image_encoder():
    return ImageEncoder(1, out_dim=8, channels=(4,))


def audio_encoder():
    return AudioEncoder(n_feat=3, out_dim=8, channels=(4,))


def text_encoder():
    return TextEncoder(10, out_dim=8, embed_dim=8)


def av_encoders():
    return {"image": image_encoder(), "audio": audio_encoder()}


def av_model(method="intermediate", **options):
    torch.manual_seed(0)
    return make_fusion_model(method, av_encoders(), 3, **options)


def av_dataset(n=N):
    return MultimodalDataset(av_inputs(n), labels(n), {"row": torch.arange(n)}, ("a", "b", "c"))


def pairs_dataset(n=N):
    return MultimodalDataset({"image": images(n), "text": token_ids(n)}, torch.arange(n))


def logits(n=N):
    return torch.randn(n, 3, generator=_gen(4))


def probs(n=N):
    return logits(n).softmax(dim=1)


def features(n=N, d=4, seed=5):
    return torch.randn(n, d, generator=_gen(seed))


def scenes(n=3):
    return make_scenes(n, n_objects=(2, 3), size=32, half_size=3)


def factors(n=3):
    return {
        "asymmetry": np.full(n, 0.3),
        "border": np.full(n, 0.4),
        "colour": np.full(n, 0.5),
        "diameter_mm": np.full(n, 5.0),
    }


def record(n=3):
    return {
        "age": np.array([40.0, 60.0, NAN][:n]),
        "sex_male": np.array([1.0, 0.0, 1.0][:n]),
        "growth": np.array([0.0, 1.0, NAN][:n]),
        "family_history": np.array([0.0, 0.0, 1.0][:n]),
        "lab": np.array([180.0, NAN, 220.0][:n]),
    }


_TMP = Path(tempfile.mkdtemp(prefix="mmlearn-bad-inputs-"))  # files the valid calls write
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


def _checkpoint_file() -> Path:
    return checkpoints.save_checkpoint(_TMP / "good.pt", {"w": torch.ones(2)})


def _vocab():
    return Vocabulary.build(["a red circle.", "a blue square."])


def _vocab_file() -> Path:
    _vocab().save(_TMP / "vocab.json")
    return _TMP / "vocab.json"


def _history():
    return training.History({"train_loss": [1.0, 0.5]}, lr=[0.1, 0.1])


def _one(fn):
    """``fn(*modules)`` called with one module, so that the module can be replaced."""

    def call(modules):
        return fn(modules)

    return call


def _noisy_images(inputs, level, seed):
    noise = torch.randn(inputs["image"].shape, generator=_gen(seed))
    return {**inputs, "image": inputs["image"] + level * noise}


TRAIN = dict(epochs=1, lr=0.01, batch_size=3, progress=False)

# Shared notes for ``accept`` entries.
FLOAT64_OK = "float64 batches are converted to the model's dtype (what NumPy gives)"


def _cases() -> list[Case]:
    cases: list[Case] = []

    def case(name, make, **kw):
        cases.append(Case(name, make, **kw))

    # ---- validation helpers: ``name`` is the word the message uses, so it is not tried
    case(
        "mmlearn.validation.check_tensor",
        lambda: (validation.check_tensor, dict(x=features(), name="x")),
        kinds={"name": "skip", "ndim": "skip"},  # ndim=None: any; checked by the callers' own tables
        accept={"x:wrong_shape": "any number of dimensions by default", "x:int_dtype": "any dtype"},
    )
    case(
        "mmlearn.validation.check_modalities",
        lambda: (validation.check_modalities, dict(inputs=av_inputs(), known=["image", "audio"])),
        kinds={"known": "names"},
        alias={"known": ("modality",)},
    )
    case(
        "mmlearn.validation.check_level",
        lambda: (validation.check_level, dict(level=0.5, name="level")),
        kinds={"level": "prob", "name": "skip"},
    )
    case(
        "mmlearn.validation.check_positive_int",
        lambda: (validation.check_positive_int, dict(n=3, name="n")),
        kinds={"name": "skip"},
    )
    case(
        "mmlearn.validation.check_seed",
        lambda: (validation.check_seed, dict(seed=0, name="seed")),
        kinds={"name": "skip"},
    )
    case(
        "mmlearn.validation.to_numpy",
        lambda: (validation.to_numpy, dict(x=features(), name="x")),
        kinds={"name": "skip"},
        accept={"x:wrong_shape": "any shape", "x:int_dtype": "any numeric dtype"},
    )
    case(
        "mmlearn.validation.check_labels",
        lambda: (validation.check_labels, dict(labels=labels(), name="labels", batch=N, num_classes=3)),
        kinds={"name": "skip", "batch": "int?", "num_classes": "int?"},
        batch=("labels",),
    )
    case(
        "mmlearn.validation.check_batch_labels",
        lambda: (validation.check_batch_labels, dict(labels=labels(), logits=logits())),
        kinds={"logits": "skip"},  # the model's own output
        batch=("labels",),
    )
    case(
        "mmlearn.validation.check_number",
        lambda: (validation.check_number, dict(x=0.5, name="x", minimum=0.0)),
        kinds={"x": "real", "name": "skip", "minimum": "skip"},
    )
    case(
        "mmlearn.validation.check_index",
        lambda: (validation.check_index, dict(index=[0, 2], n=3, name="index")),
        kinds={"index": "index", "name": "skip", "n": "skip"},  # n: the length of the caller's own data
    )
    case(
        "mmlearn.validation.check_module",
        lambda: (validation.check_module, dict(module=nn.Linear(2, 2), name="module")),
        kinds={"name": "skip"},
    )
    case(
        "mmlearn.validation.check_names",
        lambda: (validation.check_names, dict(names=["image"], name="names")),
        kinds={"name": "skip"},
        accept={"names:unknown": "any names"},
    )
    case(
        "mmlearn.validation.check_path",
        lambda: (validation.check_path, dict(path="model.pt", name="path")),
        kinds={"path": "path", "name": "skip"},
    )
    case(
        "mmlearn.validation.check_device",
        lambda: (validation.check_device, dict(device="cpu", name="device")),
        kinds={"device": "device", "name": "skip"},
    )
    case(
        "mmlearn.validation.check_widths",
        lambda: (validation.check_widths, dict(widths=(4, 8), name="widths")),
        kinds={"widths": "numbers", "name": "skip"},
        accept={"widths:empty": "no layer: an MLP may have no hidden layer (the callers decide)"},
    )
    case(
        "mmlearn.validation.to_module_dtype",
        lambda: (validation.to_module_dtype, dict(x=features(), module=nn.Linear(4, 2))),
        accept={
            "x:wrong_shape": FLOAT64_OK + "; the shape is the module's business",
            "x:int_dtype": "integer batches (token ids) are left as they are",
            "x:empty": "only converts the dtype",
            # the encoders check the values (once, at their door) before converting
            "x:nan": "only converts the dtype",
            "x:inf": "only converts the dtype",
        },
    )

    # ---- adversarial
    def fgsm_call():
        return adversarial.fgsm, dict(
            model=av_model().eval(), inputs=av_inputs(), labels=labels(), modality="audio", epsilon=0.1
        )

    case("mmlearn.adversarial.fgsm", fgsm_call, kinds={"epsilon": "float"}, batch=("labels",))

    def pgd_call():
        fn, kw = fgsm_call()
        return adversarial.pgd, dict(kw, steps=2, step_size=0.05, seed=0)

    case(
        "mmlearn.adversarial.pgd",
        pgd_call,
        kinds={"epsilon": "float", "step_size": "float"},
        batch=("labels",),
    )
    case(
        "mmlearn.adversarial.AdversarialPerturbation",
        lambda: (
            adversarial.AdversarialPerturbation,
            dict(
                model=av_model(), modality="audio", epsilon=0.1, method="pgd", steps=2, fraction=0.5, seed=0
            ),
        ),
        kinds={"epsilon": "float", "fraction": "prob"},
        accept={"modality:unknown": "the modality is checked against each batch, when it is known"},
    )

    def perturb_call():
        return (
            adversarial.AdversarialPerturbation(av_model(), "audio", 0.1, method="pgd", steps=2),
            dict(inputs=av_inputs(), labels=labels()),
        )

    case("mmlearn.adversarial.AdversarialPerturbation.__call__", perturb_call, batch=("labels",))

    # ---- checkpoints
    case(
        "mmlearn.checkpoints.save_checkpoint",
        lambda: (checkpoints.save_checkpoint, dict(path=_TMP / "ck.pt", state={"w": torch.ones(2)})),
        kinds={"path": "path", "state": "mapping"},
    )
    case(
        "mmlearn.checkpoints.load_checkpoint",
        lambda: (checkpoints.load_checkpoint, dict(path=_checkpoint_file(), sha256=None, map_location="cpu")),
        kinds={"path": "path", "map_location": "skip"},  # map_location goes to torch.load as it is
    )

    # ---- data: audio features
    wave = lambda n=2, t=512: torch.randn(n, t, generator=_gen(6)) * 0.1  # noqa: E731
    case(
        "mmlearn.data.audio_features.n_frames",
        lambda: (audio_features.n_frames, dict(n_samples=5600, hop_length=128)),
        kinds={"n_samples": "count"},
    )
    case(
        "mmlearn.data.audio_features.log_mel",
        lambda: (
            audio_features.log_mel,
            dict(waveforms=wave(), sample_rate=8000, n_fft=256, hop_length=128, n_mels=40),
        ),
    )
    case(
        "mmlearn.data.audio_features.mfcc",
        lambda: (
            audio_features.mfcc,
            dict(waveforms=wave(), sample_rate=8000, n_mfcc=13, n_fft=256, hop_length=128, n_mels=40),
        ),
    )
    case(
        "mmlearn.data.audio_features.power_spectrogram",
        lambda: (audio_features.power_spectrogram, dict(waveforms=wave(), n_fft=64, hop_length=32)),
    )
    case(
        "mmlearn.data.audio_features.mel_filterbank",
        lambda: (audio_features.mel_filterbank, dict(sample_rate=8000, n_fft=256, n_mels=40)),
    )

    # ---- data: generators
    case(
        "mmlearn.data.av_digits.av_digits",
        lambda: (
            av_digits.av_digits,
            dict(
                n=35,
                seed=0,
                fractions=(4 / 7, 1 / 7, 2 / 7),
                image_energy=0.25,
                image_noise=0.1,
                audio_snr_db=-13.0,
                features="mfcc",
                n_mfcc=13,
                pool_fractions=(0.6, 0.2, 0.2),
            ),
        ),
        kinds={"image_energy": "prob", "audio_snr_db": "real"},
        accept={
            "image_energy:none": "None keeps the images whole",
            "audio_snr_db:none": "None leaves the speech clean",
        },
    )
    case(
        "mmlearn.data.sensors.sensor_activities",
        lambda: (sensors.sensor_activities, dict(n=6, seed=0, n_subjects=2, noise=1.0)),
    )
    case(
        "mmlearn.data.sensors.imu_channels",
        lambda: (
            sensors.imu_channels,
            dict(data={"accel": torch.randn(2, 3, 8), "gyro": torch.randn(2, 3, 8)}),
        ),
        accept={"data:unknown_key": "a dataset's other modalities are left out"},
    )
    case(
        "mmlearn.data.clinical.clinical_lesions",
        lambda: (clinical.clinical_lesions, dict(n=4, seed=0, image_size=16, missing=True, prevalence=0.5)),
        kinds={"prevalence": "prob", "missing": "skip"},  # missing: tried through missing_rates
    )
    case(
        "mmlearn.data.clinical.bayes_optimal_report",
        lambda: (clinical.bayes_optimal_report, dict(data=clinical.sample_clinical_cases(40, seed=0))),
        kinds={"data": "object"},
    )
    case(
        "mmlearn.data.clinical.record_field_table",
        lambda: (clinical.record_field_table, dict(missing={"lab": 0.2})),
        kinds={"missing": "mapping"},
    )
    case("mmlearn.data.clinical.image_factor_table", lambda: (clinical.image_factor_table, {}))
    case(
        "mmlearn.data.clinical_model.check_prevalence",
        lambda: (clinical_model.check_prevalence, dict(prevalence=0.3)),
        kinds={"prevalence": "prob"},
    )
    case(
        "mmlearn.data.clinical_model.missing_rates",
        lambda: (clinical_model.missing_rates, dict(missing={"lab": 0.2})),
        kinds={"missing": "mapping"},
    )

    case(
        "mmlearn.data.clinical_model.missing_rates[rate]",
        lambda: (lambda rate: clinical_model.missing_rates({"lab": rate}), dict(rate=0.2)),
        kinds={"rate": "prob"},
    )
    case(
        "mmlearn.data.clinical_model.factor_scores",
        lambda: (clinical_model.factor_scores, dict(factors=factors())),
        kinds={"factors": "mapping"},
    )
    case(
        "mmlearn.data.clinical_model.age_log_pmf",
        lambda: (clinical_model.age_log_pmf, dict(y=1)),
        kinds={"y": "class"},
    )
    case(
        "mmlearn.data.clinical_model.image_log_likelihood_ratio",
        lambda: (clinical_model.image_log_likelihood_ratio, dict(factors=factors())),
        kinds={"factors": "mapping"},
    )
    case(
        "mmlearn.data.clinical_model.record_log_likelihood_ratio",
        lambda: (clinical_model.record_log_likelihood_ratio, dict(record=record())),
        kinds={"record": "mapping"},
    )
    case(
        "mmlearn.data.clinical_model.bayes_posterior",
        lambda: (clinical_model.bayes_posterior, dict(factors=factors(), record=record(), prevalence=0.5)),
        kinds={"factors": "mapping", "record": "mapping", "prevalence": "prob"},
    )
    case(
        "mmlearn.data.clinical_model.sample_clinical_cases",
        lambda: (clinical_model.sample_clinical_cases, dict(n=5, seed=0, missing=True, prevalence=0.5)),
        kinds={"prevalence": "prob", "missing": "skip"},  # missing: tried through missing_rates
    )
    case(
        "mmlearn.data.clinical_model.encode_record",
        lambda: (clinical_model.encode_record, dict(record=record())),
        kinds={"record": "mapping"},
    )
    case(
        "mmlearn.data.clinical_model.record_llr_terms",
        lambda: (clinical_model.record_llr_terms, dict(record=record())),
        kinds={"record": "mapping"},
    )
    case(
        "mmlearn.data.clinical_model.decode_record",
        lambda: (clinical_model.decode_record, dict(encoded=clinical_model.encode_record(record()))),
        accept={"encoded:int_dtype": "whole numbers are valid encoded values"},
    )
    case(
        "mmlearn.data.lesion_images.check_image_size",
        lambda: (lesion_images.check_image_size, dict(image_size=16)),
    )
    case(
        "mmlearn.data.lesion_images.render_lesions",
        lambda: (
            lesion_images.render_lesions,
            dict(
                asymmetry=[0.2, 0.3],
                border=[0.2, 0.3],
                colour=[0.2, 0.3],
                diameter_mm=[3.0, 5.0],
                image_size=16,
                seed=0,
            ),
        ),
        batch=("asymmetry", "border", "colour", "diameter_mm"),
    )

    # ---- data: scenes, captions, questions
    case(
        "mmlearn.data.scene_render.make_scenes",
        lambda: (
            scene_render.make_scenes,
            dict(
                n=2,
                seed=0,
                n_objects=(1, 2),
                shapes=("square", "circle"),
                colors=("red", "blue"),
                size=32,
                half_size=3,
                background="white",
            ),
        ),
        kinds={"n_objects": "numbers"},
    )
    case(
        "mmlearn.data.scene_render.Scenes.subset",
        lambda: (scenes().subset, dict(index=[0, 1])),
        kinds={"index": "index"},
    )
    case(
        "mmlearn.data.scene_render.Scenes.describe",
        lambda: (scenes().describe, dict(i=0)),
        kinds={"i": "count"},
    )
    case(
        "mmlearn.data.scene_render.names_to_ids",
        lambda: (scene_render.names_to_ids, dict(names=["red"], known=scene_render.COLORS, what="colors")),
        kinds={"known": "skip", "what": "skip"},  # the package's own tables and word for the message
        alias={"names": ("colors",)},
    )
    case("mmlearn.data.scene_render.shape_masks", lambda: (scene_render.shape_masks, dict(half_size=3)))
    case(
        "mmlearn.data.scene_render.scene_rng",
        lambda: (scene_render.scene_rng, dict(seed=0, stream=1)),
        kinds={"stream": "count"},
    )
    case(
        "mmlearn.data.scene_render.max_objects_for",
        lambda: (scene_render.max_objects_for, dict(size=32, half_size=3)),
    )
    case(
        "mmlearn.data.scene_captions.scene_captions",
        lambda: (
            scene_captions.scene_captions,
            dict(
                n=2,
                seed=0,
                min_objects=1,
                max_objects=2,
                shapes=("square", "circle"),
                n_captions=2,
                size=32,
                half_size=3,
            ),
        ),
    )
    case(
        "mmlearn.data.scene_captions.make_captions",
        lambda: (scene_captions.make_captions, dict(scenes=scenes(), n_captions=2, seed=0)),
        kinds={"scenes": "object"},
    )
    case(
        "mmlearn.data.scene_captions.combo_prompts",
        lambda: (scene_captions.combo_prompts, dict(template="a photo of {a} {name}.")),
    )
    case(
        "mmlearn.data.scene_captions.article",
        lambda: (scene_captions.article, dict(word="apple")),
        kinds={"word": "text"},
    )
    case(
        "mmlearn.data.scene_captions.join_list",
        lambda: (scene_captions.join_list, dict(phrases=["a", "b"])),
        accept={"phrases:unknown": "any phrases"},
    )
    case(
        "mmlearn.data.scene_captions.place_phrases",
        lambda: (scene_captions.place_phrases, dict(row=0, col=2)),
        kinds={"row": "third", "col": "third"},
    )
    case(
        "mmlearn.data.scene_questions.make_questions",
        lambda: (
            scene_questions.make_questions,
            dict(scenes=scenes(), seed=0, n_non_relational=2, n_relational=2),
        ),
        kinds={"scenes": "object", "n_non_relational": "count", "n_relational": "count"},
    )
    case(
        "mmlearn.data.scene_questions.sort_of_clevr",
        lambda: (scene_questions.sort_of_clevr, dict(n=2, seed=0, size=40, half_size=3)),
    )

    # ---- data: the dataset and its helpers
    case(
        "mmlearn.data.base.MultimodalDataset",
        lambda: (
            base.MultimodalDataset,
            dict(
                modalities=av_inputs(), labels=labels(), info={"row": list(range(N))}, classes=("a", "b", "c")
            ),
        ),
        kinds={"info": "mapping", "classes": "names"},
        batch=("labels",),
        alias={"modalities": ("modality", "inputs")},
        accept={
            "labels:float_dtype": "labels may be targets of any kind (regression, ids)",
            "labels:wrong_shape": "labels may have extra dimensions (20 answers per scene)",
            "modalities:unknown_key": "a modality may have any name",
        },
    )
    case(
        "mmlearn.data.base.MultimodalDataset.subset",
        lambda: (av_dataset().subset, dict(index=[0, 2, 4])),
        kinds={"index": "index"},
    )
    case(
        "mmlearn.data.base.MultimodalDataset.split",
        lambda: (av_dataset().split, dict(fractions=(0.5, 0.5), seed=0)),
    )
    case(
        "mmlearn.data.base.MultimodalDataset.to",
        lambda: (av_dataset().to, dict(device="cpu")),
        kinds={"device": "device"},
    )
    case("mmlearn.data.base.split_sizes", lambda: (base.split_sizes, dict(n=10, fractions=(0.5, 0.5))))
    case(
        "mmlearn.data.base.batches",
        lambda: (base.batches, dict(dataset=av_dataset(), batch_size=4, shuffle=True, seed=0)),
    )
    case(
        "mmlearn.data.corruption.corrupt",
        lambda: (
            corruption.corrupt,
            dict(inputs=av_inputs(), modality="image", kind="noise", level=0.3, seed=0),
        ),
        kinds={"level": "prob"},
        accept={
            "inputs:unknown_key": "other modalities pass through untouched",
            "inputs:mismatch": "only one modality is touched; fusion models check batch sizes",
        },
    )
    for fname in ("gaussian_noise", "occlude", "drop"):
        fn = getattr(corruption, fname)
        case(
            f"mmlearn.data.corruption.{fname}",
            lambda fn=fn: (fn, dict(x=images(), level=0.3, seed=0)),
            kinds={"level": "prob", "fill": "real"},
        )
    case(
        "mmlearn.data.corruption.corrupt_dataset",
        lambda: (
            corruption.corrupt_dataset,
            dict(dataset=av_dataset(), modality="audio", kind="drop", level=0.5, seed=0),
        ),
        kinds={"level": "prob"},
    )
    case(
        "mmlearn.data.corruption.remove_modality",
        lambda: (corruption.remove_modality, dict(inputs=av_inputs(), modality="image")),
        accept={
            "inputs:unknown_key": "the other modalities pass through untouched",
            "inputs:mismatch": "removing a modality needs no batch size",
            "inputs:nan": "values are not read",
            "inputs:value_str": "values are not read",
        },
    )

    # ---- data: text
    case(
        "mmlearn.data.text.tokenize",
        lambda: (text.tokenize, dict(text="A red circle.")),
        kinds={"text": "text"},
    )
    case(
        "mmlearn.data.text.detokenize",
        lambda: (text.detokenize, dict(tokens=["a", "red", "."])),
        accept={"tokens:unknown": "any tokens", "tokens:empty": "no tokens: the empty sentence"},
    )
    case(
        "mmlearn.data.text.normalize",
        lambda: (text.normalize, dict(text="A red circle.")),
        kinds={"text": "text"},
    )
    case(
        "mmlearn.data.text.Vocabulary",
        lambda: (text.Vocabulary, dict(words=["red", "circle"])),
        alias={"words": ("word",)},
        accept={"words:unknown": "any words", "words:empty": "a vocabulary of the special tokens only"},
    )
    case(
        "mmlearn.data.text.Vocabulary.build",
        lambda: (
            text.Vocabulary.build,
            dict(texts=["a red circle.", "a blue square."], min_freq=1, max_size=10),
        ),
        alias={"texts": ("text",)},
        accept={"texts:unknown": "any texts", "max_size:zero": "max_size 0: the special tokens only"},
    )
    case(
        "mmlearn.data.text.Vocabulary.encode",
        lambda: (_vocab().encode, dict(text="a red circle.")),
        kinds={"text": "text"},
    )
    case(
        "mmlearn.data.text.Vocabulary.encode_batch",
        lambda: (_vocab().encode_batch, dict(texts=["a red circle.", "a square."], length=6)),
        alias={"texts": ("text",)},
        accept={"texts:unknown": "unknown words become <unk>"},
    )
    case(
        "mmlearn.data.text.Vocabulary.decode",
        lambda: (_vocab().decode, dict(ids=torch.tensor([2, 4, 5, 3]))),
        alias={"ids": ("token id",)},
        accept={"ids:empty": "no ids: the empty sentence"},
    )
    case(
        "mmlearn.data.text.Vocabulary.decode_batch",
        lambda: (_vocab().decode_batch, dict(ids=torch.tensor([[2, 4, 3], [2, 5, 3]]))),
        alias={"ids": ("token id",)},
        accept={"ids:empty": "no rows: no sentences"},
    )
    case(
        "mmlearn.data.text.Vocabulary.save",
        lambda: (_vocab().save, dict(path=_TMP / "vocab.json")),
        kinds={"path": "path"},
    )
    case(
        "mmlearn.data.text.Vocabulary.load",
        lambda: (text.Vocabulary.load, dict(path=_vocab_file())),
        kinds={"path": "path"},
    )
    case(
        "mmlearn.data.spoken_digits.load_spoken_digits",
        lambda: (spoken_digits.load_spoken_digits, {}),
        accept={"sha256:none": "sha256=None skips the check, as documented"},
    )

    # ---- encoders: constructors and forward passes
    case(
        "mmlearn.encoders.image.ImageEncoder",
        lambda: (ImageEncoder, dict(in_channels=1, out_dim=8, channels=(4,), pool_size=2, first_stride=1)),
    )
    case(
        "mmlearn.encoders.image.ImageEncoder.forward",
        lambda: (image_encoder().forward, dict(x=images())),
        alias={"x": ("ImageEncoder input",)},
    )
    case(
        "mmlearn.encoders.image.ImageEncoder.tokens",
        lambda: (image_encoder().tokens, dict(x=images())),
        alias={"x": ("ImageEncoder input",)},
    )
    case(
        "mmlearn.encoders.image.check_image_batch",
        lambda: (image_encoders.check_image_batch, dict(x=images(), name="x", in_channels=1)),
        kinds={"name": "skip"},
    )
    case(
        "mmlearn.encoders.sensor.SensorEncoder",
        lambda: (SensorEncoder, dict(in_channels=3, out_dim=8, channels=(4,), kernel_size=3)),
    )
    case(
        "mmlearn.encoders.sensor.SensorEncoder.forward",
        lambda: (SensorEncoder(3, out_dim=8, channels=(4,)).forward, dict(x=audio())),
        alias={"x": ("SensorEncoder input",)},
    )
    case(
        "mmlearn.encoders.sensor.SimpleSensorEncoder",
        lambda: (SimpleSensorEncoder, dict(in_channels=3, out_dim=8, hidden=4, kernel_size=3)),
    )
    case(
        "mmlearn.encoders.sensor.SimpleSensorEncoder.forward",
        lambda: (SimpleSensorEncoder(3, out_dim=8, hidden=4).forward, dict(x=audio())),
    )
    case(
        "mmlearn.encoders.audio.AudioEncoder",
        lambda: (AudioEncoder, dict(n_feat=3, out_dim=8, channels=(4,), kernel_size=3)),
    )
    case(
        "mmlearn.encoders.audio.AudioEncoder.forward",
        lambda: (audio_encoder().forward, dict(x=audio())),
        alias={"x": ("AudioEncoder input",)},
    )
    case(
        "mmlearn.encoders.audio.WaveformEncoder",
        lambda: (WaveformEncoder, dict(out_dim=8, channels=(4, 4), first_kernel=8, first_stride=4)),
    )
    case(
        "mmlearn.encoders.audio.WaveformEncoder.forward",
        lambda: (
            WaveformEncoder(out_dim=8, channels=(4,), first_kernel=8, first_stride=4).forward,
            dict(x=torch.randn(N, 1, 64, generator=_gen(5))),
        ),
        alias={"x": ("WaveformEncoder input",)},
    )
    case(
        "mmlearn.encoders.mlp.MLPEncoder",
        lambda: (MLPEncoder, dict(in_features=5, out_dim=8, hidden=(8,), dropout=0.1)),
        kinds={"dropout": "prob"},
        accept={"hidden:empty": "no hidden layer: one linear map"},
    )
    case(
        "mmlearn.shared_space.ProjectionHead",
        lambda: (ProjectionHead, dict(in_features=5, out_dim=8, hidden=8, dropout=0.1)),
        kinds={"dropout": "prob"},
    )
    case(
        "mmlearn.encoders.mlp.MLPEncoder.forward",
        lambda: (MLPEncoder(5, out_dim=8).forward, dict(x=torch.randn(N, 5, generator=_gen(7)))),
        alias={"x": ("MLPEncoder input",)},
    )
    case(
        "mmlearn.encoders.text.TextEncoder",
        lambda: (
            TextEncoder,
            dict(
                vocab_size=10,
                out_dim=8,
                embed_dim=8,
                kind="transformer",
                pad_id=0,
                num_layers=1,
                num_heads=2,
                max_len=16,
                dropout=0.1,
            ),
        ),
        kinds={"pad_id": "count", "dropout": "prob"},
    )
    case(
        "mmlearn.encoders.text.TextEncoder.forward",
        lambda: (text_encoder().forward, dict(x=token_ids())),
        alias={"x": ("TextEncoder input",)},
    )

    # ---- fusion
    case(
        "mmlearn.fusion.make_fusion_model",
        lambda: (make_fusion_model, dict(method="gated", branches=av_encoders(), num_classes=3, hidden=8)),
        kinds={"branches": "mapping"},
        accept={
            "hidden:zero": "hidden 0 (or None): a single linear head",
            "hidden:none": "hidden None (or 0): a single linear head",
        },
    )
    encoder_options = {"hidden": "int?", "dropout": "prob"}
    head_accept = {"hidden:zero": "hidden 0 (or None): a single linear head"}
    for cls, extra in (
        (IntermediateFusion, dict(missing="error")),
        (GatedFusion, dict(d_model=8)),
        (AttentionFusion, dict(d_model=8, num_heads=2)),
        (TensorFusion, dict(proj_dim=4, missing="error")),
        (LowRankFusion, dict(rank=2, proj_dim=4, missing="error")),
        (LateFusion, dict(rule="weighted", weights=[1.0, 2.0])),
    ):
        kw = dict(extra, hidden=8, dropout=0.1)
        name = f"{cls.__module__}.{cls.__qualname__}"
        no_projection = {"proj_dim:none": "proj_dim=None: no projection, as documented"}
        case(
            name,
            lambda cls=cls, kw=kw: (cls, dict(encoders=av_encoders(), num_classes=3, **kw)),
            kinds={**encoder_options, "encoders": "mapping"},
            accept=no_projection if cls in (TensorFusion, LowRankFusion) else head_accept,
        )
        case(
            f"{name}.forward",
            lambda cls=cls, kw=kw: (cls(av_encoders(), 3, **kw).forward, dict(inputs=av_inputs())),
        )
    case(
        "mmlearn.fusion.early.EarlyFusion",
        lambda: (
            EarlyFusion,
            dict(
                input_shapes={"image": (1, 8, 8), "audio": (3, 6)},
                num_classes=3,
                hidden=8,
                dropout=0.1,
                missing="error",
            ),
        ),
        kinds={"input_shapes": "mapping", **encoder_options},
        accept=head_accept,
    )
    case(
        "mmlearn.fusion.early.EarlyFusion.forward",
        lambda: (EarlyFusion({"image": (1, 8, 8), "audio": (3, 6)}, 3).forward, dict(inputs=av_inputs())),
    )
    case(
        "mmlearn.fusion.base.FusionModel.check_inputs",
        lambda: (av_model().check_inputs, dict(inputs=av_inputs())),
    )
    case(
        "mmlearn.fusion.base.FusionModel.training_step",
        lambda: (av_model().training_step, dict(inputs=av_inputs(), labels=labels())),
        batch=("labels",),
    )
    case(
        "mmlearn.fusion.base.FusionModel.loss",
        lambda: (av_model().loss, dict(inputs=av_inputs(), labels=labels())),
        batch=("labels",),
    )
    case(
        "mmlearn.fusion.late.LateFusion.training_step",
        lambda: (av_model("late_learned").training_step, dict(inputs=av_inputs(), labels=labels())),
        batch=("labels",),
    )
    case(
        "mmlearn.fusion.late.LateFusion.set_weights",
        lambda: (av_model("late_weighted").set_weights, dict(weights=[1.0, 3.0])),
    )
    case(
        "mmlearn.fusion.late.LateFusion.modality_weights",
        lambda: (av_model("late_weighted").modality_weights, dict(present=["audio"])),
        kinds={"present": "names?"},
    )
    case(
        "mmlearn.fusion.late.UnimodalClassifier",
        lambda: (
            UnimodalClassifier,
            dict(encoder=image_encoder(), num_classes=3, modality="image", hidden=8, dropout=0.1),
        ),
        kinds={"hidden": "int?", "dropout": "prob"},
        accept={**head_accept, "modality:unknown": "the name of the key it reads; checked on each batch"},
    )
    case(
        "mmlearn.fusion.late.UnimodalClassifier.forward",
        lambda: (UnimodalClassifier(image_encoder(), 3, "image").forward, dict(inputs=av_inputs())),
        accept={
            "inputs:unknown_key": "it reads its own modality and ignores the others",
            "inputs:mismatch": "it reads only its own modality",
        },
    )
    case(
        "mmlearn.fusion.tensor.outer_product",
        lambda: (outer_product, dict(z=[features(seed=8), features(seed=9)])),
        kinds={"z": "tensors"},
    )
    case(
        "mmlearn.fusion.base.check_encoders",
        lambda: (fusion_base.check_encoders, dict(encoders=av_encoders())),
        kinds={"encoders": "mapping"},
    )
    case(
        "mmlearn.fusion.base.mlp_head",
        lambda: (fusion_base.mlp_head, dict(in_dim=4, num_classes=3, hidden=8, dropout=0.1)),
        kinds={"hidden": "int?", "dropout": "prob"},
        accept=head_accept,
    )

    # ---- inference
    case(
        "mmlearn.inference.evaluate",
        lambda: (inference.evaluate, dict(model=av_model(), dataset=av_dataset(), batch_size=4)),
    )
    case(
        "mmlearn.inference.predict_proba",
        lambda: (inference.predict_proba, dict(model=av_model(), dataset=av_dataset(), batch_size=4)),
    )
    case(
        "mmlearn.inference.embed",
        lambda: (inference.embed, dict(encoder=image_encoder(), data=images(), batch_size=4)),
        alias={"data": ("ImageEncoder input",)},
    )
    case(
        "mmlearn.inference.cross_modal_similarity",
        lambda: (
            inference.cross_modal_similarity,
            dict(
                image_encoder=image_encoder(),
                text_encoder=text_encoder(),
                images=images(),
                texts=token_ids(),
                batch_size=4,
            ),
        ),
        kinds={"texts": "labels"},
        alias={"images": ("ImageEncoder input",), "texts": ("TextEncoder input",)},
    )
    case("mmlearn.inference.device_of", lambda: (_one(inference.device_of), dict(modules=av_model())))
    case("mmlearn.inference.eval_mode", lambda: (_one(inference.eval_mode), dict(modules=av_model())))

    # ---- losses
    pair = lambda: dict(image_features=features(seed=10), text_features=features(seed=11))  # noqa: E731
    pair_batch = ("image_features", "text_features")
    case(
        "mmlearn.losses.clip_loss",
        lambda: (losses.clip_loss, dict(pair(), logit_scale=10.0)),
        batch=pair_batch,
    )
    case(
        "mmlearn.losses.siglip_loss",
        lambda: (losses.siglip_loss, dict(pair(), logit_scale=10.0, logit_bias=-1.0)),
        kinds={"logit_bias": "real"},
        batch=pair_batch,
    )
    case("mmlearn.losses.naive_cosine_loss", lambda: (losses.naive_cosine_loss, pair()), batch=pair_batch)
    case(
        "mmlearn.losses.ranking_loss",
        lambda: (losses.ranking_loss, dict(pair(), margin=0.2, reduction="max")),
        batch=pair_batch,
    )
    case("mmlearn.losses.ClipLoss", lambda: (losses.ClipLoss, dict(init_temperature=0.07, max_scale=100.0)))
    case("mmlearn.losses.ClipLoss.forward", lambda: (losses.ClipLoss().forward, pair()), batch=pair_batch)
    case(
        "mmlearn.losses.SigLipLoss",
        lambda: (losses.SigLipLoss, dict(init_scale=10.0, init_bias=-10.0)),
        kinds={"init_bias": "real"},
    )
    case("mmlearn.losses.SigLipLoss.forward", lambda: (losses.SigLipLoss().forward, pair()), batch=pair_batch)
    case(
        "mmlearn.losses.NaiveCosineLoss.forward",
        lambda: (losses.NaiveCosineLoss().forward, pair()),
        batch=pair_batch,
    )
    case("mmlearn.losses.RankingLoss", lambda: (losses.RankingLoss, dict(margin=0.2, reduction="sum")))
    case(
        "mmlearn.losses.RankingLoss.forward", lambda: (losses.RankingLoss().forward, pair()), batch=pair_batch
    )

    # ---- metrics
    int_scores = "integer scores (vote counts, rounded values) are scores too"
    cls_batch = ("logits_or_predictions", "targets")
    for fname in ("accuracy", "balanced_accuracy"):
        case(
            f"mmlearn.metrics.{fname}",
            lambda fname=fname: (
                getattr(metrics, fname),
                dict(logits_or_predictions=logits(), targets=labels()),
            ),
            batch=cls_batch,
            accept={"logits_or_predictions:int_dtype": int_scores},
        )
    case(
        "mmlearn.metrics.confusion_matrix",
        lambda: (
            metrics.confusion_matrix,
            dict(logits_or_predictions=logits(), targets=labels(), num_classes=3, normalize="true"),
        ),
        kinds={"normalize": "choice?"},
        batch=cls_batch,
        accept={"logits_or_predictions:int_dtype": int_scores},
    )
    case(
        "mmlearn.metrics.auroc",
        lambda: (metrics.auroc, dict(scores=probs(), targets=labels())),
        batch=("scores", "targets"),
        accept={"scores:int_dtype": "one-hot integer probabilities sum to 1"},
    )
    sim = lambda: torch.randn(N, N, generator=_gen(12))  # noqa: E731
    case(
        "mmlearn.metrics.retrieval_ranks",
        lambda: (metrics.retrieval_ranks, dict(similarity=sim(), targets=torch.arange(N).flip(0))),
        kinds={"targets": "labels"},
        batch=("similarity", "targets"),
        accept={"similarity:int_dtype": int_scores},
    )
    case(
        "mmlearn.metrics.recall_at_k",
        lambda: (metrics.recall_at_k, dict(similarity=sim(), k=2, targets=torch.arange(N))),
        batch=("similarity", "targets"),
        accept={"similarity:int_dtype": int_scores},
    )
    case(
        "mmlearn.metrics.retrieval_report",
        lambda: (metrics.retrieval_report, dict(similarity=sim(), ks=(1, 2))),
        kinds={"ks": "numbers"},
        accept={"similarity:int_dtype": int_scores},
    )
    case("mmlearn.metrics.chance_recall_at_k", lambda: (metrics.chance_recall_at_k, dict(n=10, k=2)))
    case(
        "mmlearn.metrics.reliability_bins",
        lambda: (metrics.reliability_bins, dict(probs=probs(), targets=labels(), n_bins=5)),
        batch=("probs", "targets"),
        accept={"probs:int_dtype": "one-hot integer probabilities are probabilities"},
    )
    case(
        "mmlearn.metrics.expected_calibration_error",
        lambda: (metrics.expected_calibration_error, dict(probs=probs(), targets=labels(), n_bins=5)),
        batch=("probs", "targets"),
        accept={"probs:int_dtype": "one-hot integer probabilities are probabilities"},
    )
    case(
        "mmlearn.metrics.accuracy_by_question_type",
        lambda: (
            metrics.accuracy_by_question_type,
            dict(predictions=labels(), answers=labels().flip(0), qtype=torch.arange(N) % 6),
        ),
        batch=("predictions", "answers", "qtype"),
    )
    case(
        "mmlearn.metrics.posterior_report",
        lambda: (
            metrics.posterior_report,
            dict(labels=torch.tensor([0, 1, 1, 0]), posteriors={"image": np.array([0.2, 0.7, 0.6, 0.4])}),
        ),
        kinds={"posteriors": "mapping"},
        accept={"labels:wrong_shape": "a column of labels is read as one label per row"},
    )

    # ---- recipes
    case(
        "mmlearn.recipes.contrastive_encoders",
        lambda: (recipes.contrastive_encoders, dict(vocab_size=12, seed=0)),
    )
    case("mmlearn.recipes.av_encoders", lambda: (recipes.av_encoders, {}))
    case("mmlearn.recipes.av_fusion_model", lambda: (recipes.av_fusion_model, dict(seed=1)))

    # ---- lesson 09: temperature scaling, the product rule, attribution, the lesion encoders
    case(
        "mmlearn.calibration.as_logits",
        lambda: (calibration.as_logits, dict(logits=logits(), name="logits")),
        kinds={"name": "skip"},
    )
    case(
        "mmlearn.calibration.negative_log_likelihood",
        lambda: (
            calibration.negative_log_likelihood,
            dict(logits=logits(), labels=labels(), temperature=1.5),
        ),
        batch=("logits", "labels"),
    )
    case(
        "mmlearn.calibration.fit_temperature",
        lambda: (calibration.fit_temperature, dict(logits=logits(), labels=labels())),
        batch=("logits", "labels"),
    )
    case(
        "mmlearn.calibration.TemperatureScaled",
        lambda: (calibration.TemperatureScaled, dict(model=av_model(), temperature=2.0)),
    )
    case(
        "mmlearn.posterior_fusion.product_rule",
        lambda: (
            posterior_fusion.product_rule,
            dict(logits={"a": logits(), "b": logits().flip(0)}, prior=[0.2, 0.3, 0.5]),
        ),
        kinds={"logits": "inputs"},
        accept={"logits:unknown_key": "any modality names: the classifiers are the caller's"},
    )
    case(
        "mmlearn.attribution.score",
        lambda: (attribution.score, dict(model=av_model(), inputs=av_inputs(), target=1)),
        accept={"target:zero": "class 0 is a valid target"},
    )
    case(
        "mmlearn.attribution.integrated_gradients",
        lambda: (
            attribution.integrated_gradients,
            dict(model=av_model(), inputs=av_inputs(), baselines=None, target=1, steps=4),
        ),
        accept={"target:zero": "class 0 is a valid target"},
    )
    case(
        "mmlearn.attribution.saliency",
        lambda: (attribution.saliency, dict(model=av_model(), inputs=av_inputs(), target=1)),
        accept={"target:zero": "class 0 is a valid target"},
    )
    case(
        "mmlearn.attribution.modality_totals",
        lambda: (attribution.modality_totals, dict(attributions=av_inputs())),
        alias={"attributions": ("modality", "modalities")},
        accept={"attributions:unknown_key": "attributions of any model: every modality name is valid"},
    )
    case(
        "mmlearn.attribution.completeness_gap",
        lambda: (
            attribution.completeness_gap,
            dict(model=av_model(), inputs=av_inputs(), attributions=av_inputs(), baselines=None, target=1),
        ),
        accept={"target:zero": "class 0 is a valid target"},
    )
    case(
        "mmlearn.lesion_encoders.LesionCNN",
        lambda: (lesion_encoders.LesionCNN, dict(out_dim=4, channels=(4, 4), in_channels=3)),
    )
    case(
        "mmlearn.lesion_encoders.LesionCNN.forward",
        lambda: (
            lesion_encoders.LesionCNN(4, (4,)).forward,
            dict(x=torch.rand(N, 3, 16, 16, generator=_gen(7))),
        ),
        alias={"x": ("LesionCNN input",)},
    )
    case(
        "mmlearn.lesion_encoders.clinical_encoders",
        lambda: (lesion_encoders.clinical_encoders, dict(seed=1, record_columns=10)),
    )

    # ---- lesson 10: modality Shapley values, latency, dataset checks
    case(
        "mmlearn.modality_shapley.mean_baselines",
        lambda: (modality_shapley.mean_baselines, dict(train=av_dataset())),
    )
    case(
        "mmlearn.modality_shapley.ablate",
        lambda: (
            modality_shapley.ablate,
            dict(inputs=av_inputs(), keep=["image"], baselines={"image": images(1), "audio": audio(1)}),
        ),
        kinds={"baselines": "mapping"},
        accept={"keep:empty": "keeping no modality is the empty coalition"},
    )
    case(
        "mmlearn.modality_shapley.coalitions",
        lambda: (modality_shapley.coalitions, dict(modalities=["image", "audio"])),
        accept={"modalities:unknown": "any modality names"},
    )
    case(
        "mmlearn.modality_shapley.coalition_values",
        lambda: (
            modality_shapley.coalition_values,
            dict(
                model=av_model(), data=av_dataset(), baselines=modality_shapley.mean_baselines(av_dataset())
            ),
        ),
        kinds={"baselines": "mapping"},
    )
    case(
        "mmlearn.modality_shapley.shapley_values",
        lambda: (
            modality_shapley.shapley_values,
            dict(values={frozenset(): 0.1, frozenset(["a"]): 0.5}, modalities=["a"]),
        ),
        kinds={"values": "mapping"},
    )
    case(
        "mmlearn.latency.LatencyStats",
        lambda: (latency.LatencyStats, dict(median_ms=1.0, p95_ms=2.0, batch_size=1)),
    )
    case(
        "mmlearn.latency.latency_percentiles",
        lambda: (latency.latency_percentiles, dict(run=lambda: None, warmup=1, repeats=2)),
        kinds={"warmup": "count"},
    )
    case(
        "mmlearn.latency.measure_latency",
        lambda: (latency.measure_latency, dict(run=lambda: None, batch_size=2, warmup=1, repeats=2)),
        kinds={"warmup": "count"},
    )
    case(
        "mmlearn.latency.time_model",
        lambda: (
            latency.time_model,
            dict(model=av_model(), inputs=av_inputs(), grad="inference", warmup=1, repeats=2),
        ),
        kinds={"warmup": "count"},
    )
    case(
        "mmlearn.latency.batch_of",
        lambda: (latency.batch_of, dict(data_modalities=av_inputs(), batch_size=2)),
        accept={"data_modalities:unknown_key": "any modality names: the batch is the caller's"},
    )
    case(
        "mmlearn.latency.latency_by_batch",
        lambda: (
            latency.latency_by_batch,
            dict(model=av_model(), data_modalities=av_inputs(), batch_sizes=[1, 2], warmup=1, repeats=2),
        ),
        kinds={"warmup": "count"},
        alias={"data_modalities": ("modality", "modalities")},
    )
    case(
        "mmlearn.latency.quantize_linear_int8", lambda: (latency.quantize_linear_int8, dict(model=av_model()))
    )
    case(
        "mmlearn.data_checks.shift_stream",
        lambda: (data_checks.shift_stream, dict(x=features(), lag=2)),
        accept={
            "x:wrong_shape": "a stream of any shape",
            "x:int_dtype": "a stream of any dtype",
            "lag:zero": "no shift",
            "lag:neg": "a negative lag shifts the other way",
        },
    )
    case(
        "mmlearn.data_checks.lag_scores",
        lambda: (
            data_checks.lag_scores,
            dict(log_probs=logits().log_softmax(dim=1), labels=labels(), max_lag=2),
        ),
        batch=("log_probs", "labels"),
        accept={"max_lag:zero": "lag 0 alone is a valid range"},
    )
    case(
        "mmlearn.data_checks.flip_labels",
        lambda: (data_checks.flip_labels, dict(labels=labels(), fraction=0.5, num_classes=3, seed=1)),
        kinds={"fraction": "prob"},
    )
    case(
        "mmlearn.data_checks.second_take",
        lambda: (
            data_checks.second_take,
            dict(data=av_dataset(), noise={"image": 0.1}, seed=1, clamp={"image": (0.0, 1.0)}),
        ),
        kinds={"noise": "mapping", "clamp": "mapping?"},
    )
    case(
        "mmlearn.data_checks.pooled_random_split",
        lambda: (
            data_checks.pooled_random_split,
            dict(splits=[av_dataset(), av_dataset()], sizes=[4, 4], seed=1),
        ),
        kinds={"splits": "object"},
    )
    case(
        "mmlearn.data_checks.shared_source_fraction",
        lambda: (data_checks.shared_source_fraction, dict(train=av_dataset(), test=av_dataset(), key="row")),
    )
    case(
        "mmlearn.data_checks.shared_source_mask",
        lambda: (data_checks.shared_source_mask, dict(train=av_dataset(), test=av_dataset(), key="row")),
    )

    # ---- report (the results file is not set while this test runs)
    case(
        "mmlearn.report.record",
        lambda: (report.record, dict(name="acc", value=0.5, digits=2, quiet=True)),
        kinds={"name": "text", "value": "real", "digits": "count"},
        accept={"value:bool": "a claim that holds or not is a result too"},
    )
    case(
        "mmlearn.report.claim",
        lambda: (report.claim, dict(name="better", holds=True, detail="a beats b")),
        kinds={"name": "text", "holds": "bool_strict", "detail": "text"},
    )
    case(
        "mmlearn.report.new_file_mode",
        lambda: (report.new_file_mode, dict(folder=True)),
        kinds={"folder": "bool_strict"},
    )
    case(
        "mmlearn.report.atomic_file",
        lambda: (
            lambda path, binary: report.atomic_file(path, binary).__enter__().close(),
            dict(path=_TMP / "atomic.txt", binary=False),
        ),
        kinds={"path": "path", "binary": "bool_strict"},
    )
    case(
        "mmlearn.report.atomic_write_text",
        lambda: (report.atomic_write_text, dict(path=_TMP / "out.txt", text="hello")),
        kinds={"path": "path", "text": "text"},
    )

    # ---- robustness
    case(
        "mmlearn.robustness.robustness_curve",
        lambda: (
            robustness.robustness_curve,
            dict(
                model=av_model(),
                dataset=av_dataset(),
                corrupt_fn=_noisy_images,
                levels=(0.0, 0.5),
                batch_size=4,
                seed=0,
            ),
        ),
        kinds={"levels": "numbers"},
    )
    case(
        "mmlearn.robustness.relative_robustness",
        lambda: (robustness.relative_robustness, dict(levels=[0.0, 0.5, 1.0], accuracies=[0.9, 0.8, 0.5])),
        batch=("levels", "accuracies"),
    )
    case(
        "mmlearn.robustness.effective_robustness",
        lambda: (
            robustness.effective_robustness,
            dict(accuracies=[0.9, 0.8, 0.5], late_fusion_accuracies=[0.9, 0.7, 0.4]),
        ),
        batch=("accuracies", "late_fusion_accuracies"),
    )
    case(
        "mmlearn.robustness.worst_case_gap",
        lambda: (
            robustness.worst_case_gap,
            dict(
                fused=[0.8, 0.7, 0.6],
                singles={"image": [0.66, 0.66, 0.66], "audio": [0.6, 0.4, 0.1]},
                usable=0.2,
            ),
        ),
        kinds={"usable": "prob"},
    )

    # ---- robust fusion (lesson 08)
    case(
        "mmlearn.robust_fusion.RandomStrengthNoise",
        lambda: (robust_fusion.RandomStrengthNoise, dict(p_clean=0.3, seed=0)),
        kinds={"p_clean": "prob"},
    )
    case(
        "mmlearn.robust_fusion.RandomStrengthNoise.__call__",
        lambda: (robust_fusion.RandomStrengthNoise(0.3), dict(inputs=av_inputs(), labels=labels())),
        kinds={"labels": "skip"},  # labels: not read (a transform's signature)
        accept={"inputs:unknown_key": "every modality of the batch may get noise"},
    )
    case(
        "mmlearn.robust_fusion.product_rule",
        lambda: (robust_fusion.product_rule, dict(log_probs=torch.log_softmax(torch.randn(N, 2, 3), dim=2))),
    )
    case(
        "mmlearn.robust_fusion.entropy_weighted_rule",
        lambda: (
            robust_fusion.entropy_weighted_rule,
            dict(log_probs=torch.log_softmax(torch.randn(N, 2, 3), dim=2), tau=0.5),
        ),
    )
    case(
        "mmlearn.robust_fusion.RuledLateFusion",
        lambda: (
            robust_fusion.RuledLateFusion,
            dict(late=av_model("late_mean"), rule=robust_fusion.product_rule),
        ),
    )
    case(
        "mmlearn.robust_fusion.RuledLateFusion.forward",
        lambda: (
            robust_fusion.RuledLateFusion(av_model("late_mean"), robust_fusion.product_rule).forward,
            dict(inputs=av_inputs()),
        ),
    )
    case(
        "mmlearn.robust_fusion.noise_statistics",
        lambda: (robust_fusion.noise_statistics, dict(inputs=av_inputs(), modalities=["image", "audio"])),
        accept={"inputs:unknown_key": "only the modalities named are read"},
    )
    case(
        "mmlearn.robust_fusion.NoiseAwareGate",
        lambda: (
            robust_fusion.NoiseAwareGate,
            dict(
                experts={"a": av_model(), "b": av_model("late_mean")}, modalities=["image", "audio"], hidden=4
            ),
        ),
        accept={"modalities:unknown": "names are checked against each batch, where the names are known"},
    )
    case(
        "mmlearn.robust_fusion.NoiseAwareGate.forward",
        lambda: (
            robust_fusion.NoiseAwareGate({"a": av_model()}, ["image", "audio"], hidden=4).eval().forward,
            dict(inputs=av_inputs()),
        ),
    )

    # ---- runtime
    case(
        "mmlearn.runtime.get_device",
        lambda: (runtime.get_device, dict(prefer="cpu")),
        kinds={"prefer": "choice?"},
    )
    case(
        "mmlearn.runtime.describe_device",
        lambda: (runtime.describe_device, dict(device=torch.device("cpu"))),
        kinds={"device": "device"},
    )
    case(
        "mmlearn.runtime.seed_everything", lambda: (runtime.seed_everything, dict(seed=0, deterministic=True))
    )
    case("mmlearn.runtime.setup_notebook", lambda: (runtime.setup_notebook, dict(seed=0)))
    case("mmlearn.runtime.lesson_seed", lambda: (runtime.lesson_seed, dict()))  # reads MMLEARN_SEED
    case("mmlearn.runtime.lesson_threads", lambda: (runtime.lesson_threads, dict()))  # reads MMLEARN_THREADS
    case(
        "mmlearn.runtime.limit_threads",
        lambda: (runtime.limit_threads, dict(threads=1)),
        kinds={"threads": "int"},
    )

    # ---- strategies
    case(
        "mmlearn.strategies.ModalityDropout",
        lambda: (strategies.ModalityDropout, dict(p=0.5, modalities=["image"], seed=0)),
        kinds={"p": "prob", "modalities": "names?"},
        accept={"modalities:unknown": "names are checked against each batch, where the names are known"},
    )
    case(
        "mmlearn.strategies.ModalityDropout.__call__",
        lambda: (strategies.ModalityDropout(0.5), dict(inputs=av_inputs(), labels=labels())),
        kinds={"labels": "skip"},  # labels: not read (a transform's signature)
        accept={"inputs:unknown_key": "any modality may be dropped (modalities=None: all of them)"},
    )
    case(
        "mmlearn.strategies.SquareSymmetries",
        lambda: (strategies.SquareSymmetries, dict(modality="image", seed=0)),
        accept={"modality:unknown": "the name is checked against each batch, where the names are known"},
    )
    case(
        "mmlearn.strategies.SquareSymmetries.__call__",
        lambda: (strategies.SquareSymmetries("image"), dict(inputs=av_inputs(), labels=labels())),
        kinds={"labels": "skip"},  # labels: not read (a transform's signature)
        accept={"inputs:unknown_key": "modalities other than the picture pass through untouched"},
    )
    case(
        "mmlearn.strategies.FrozenEncoder",
        lambda: (strategies.FrozenEncoder, dict(encoder=image_encoder())),
    )
    case(
        "mmlearn.strategies.unimodal",
        lambda: (strategies.unimodal, dict(dataset=av_dataset(), modality="audio")),
    )
    case(
        "mmlearn.strategies.pretrain_encoder",
        lambda: (
            strategies.pretrain_encoder,
            dict(
                encoder=image_encoder(),
                modality="image",
                train=av_dataset(),
                val=av_dataset(),
                num_classes=3,
                seed=0,
                **TRAIN,
            ),
        ),
        kinds={"val": "dataset?"},
    )
    case(
        "mmlearn.strategies.staged_training",
        lambda: (
            strategies.staged_training,
            dict(
                encoders=av_encoders(),
                train=av_dataset(),
                val=None,
                num_classes=3,
                method="intermediate",
                pretrain_epochs=1,
                fuse_epochs=1,
                lr=0.01,
                fuse_lr=0.01,
                batch_size=3,
                seed=0,
                progress=False,
            ),
        ),
        kinds={"encoders": "mapping", "fuse_lr": "float"},
    )
    case(
        "mmlearn.strategies.linear_probe",
        lambda: (
            strategies.linear_probe,
            dict(encoder=image_encoder(), modality="image", train=av_dataset(), test=av_dataset(), C=1.0),
        ),
        kinds={"C": "float"},
    )

    # ---- training
    case(
        "mmlearn.training.History",
        lambda: (training.History, dict(metrics={"train_loss": [1.0]}, lr=[0.1])),
        kinds={"metrics": "mapping?"},
        accept={"lr:empty": "a History without learning rates"},
    )
    case(
        "mmlearn.training.History.log",
        lambda: (_history().log, dict(figures={"train_loss": 0.3}, lr=0.1)),
        kinds={"figures": "mapping", "lr": "float?"},
    )
    case(
        "mmlearn.training.History.epoch",
        lambda: (_history().epoch, dict(i=1)),
        kinds={"i": "count"},
        accept={"i:neg": "i=-1 is the last epoch, as documented"},
    )

    def fit_call():
        model = av_model()
        return training.fit, dict(
            modules=model,
            train=av_dataset(),
            step=training.classification_step(model),
            seed=0,
            lr_schedule="onecycle",
            weight_decay=0.01,
            desc="fit",
            **TRAIN,
        )

    case("mmlearn.training.fit", fit_call, kinds={"desc": "text", "weight_decay": "float"})
    case(
        "mmlearn.training.classification_step",
        lambda: (training.classification_step, dict(model=av_model(), max_label=2)),
        kinds={"max_label": "count"},
    )
    case(
        "mmlearn.training.classification_step.step",
        lambda: (training.classification_step(av_model()), dict(inputs=av_inputs(), labels=labels())),
        batch=("labels",),
    )
    case(
        "mmlearn.training.contrastive_step",
        lambda: (
            training.contrastive_step,
            dict(
                image_encoder=image_encoder(),
                text_encoder=text_encoder(),
                loss_module=losses.ClipLoss(),
                image_key="image",
                text_key="text",
            ),
        ),
        accept={
            "image_key:unknown": "the key is checked on each batch",
            "text_key:unknown": "the key is checked on each batch",
        },
    )
    case(
        "mmlearn.training.contrastive_step.step",
        lambda: (
            training.contrastive_step(image_encoder(), text_encoder(), losses.ClipLoss(), "image", "text"),
            dict(inputs={"image": images(), "text": token_ids()}, labels=torch.arange(N)),
        ),
        kinds={"labels": "skip"},  # not read: the pairs are matched by position
        accept={"inputs:unknown_key": "other modalities of the batch are not read"},
    )
    case(
        "mmlearn.training.train_classifier",
        lambda: (
            training.train_classifier,
            dict(model=av_model(), train=av_dataset(), val=av_dataset(), seed=0, **TRAIN),
        ),
        kinds={"val": "dataset?"},
    )
    case(
        "mmlearn.training.train_contrastive",
        lambda: (
            training.train_contrastive,
            dict(
                image_encoder=image_encoder(),
                text_encoder=text_encoder(),
                pairs=pairs_dataset(),
                loss_module=losses.ClipLoss(),
                val=pairs_dataset(),
                image_key="image",
                text_key="text",
                **TRAIN,
            ),
        ),
        kinds={"val": "dataset?"},
    )

    # the training loop meets a bad label through the dataset: one case per kind of bad label
    def train_with_labels(y):
        data = MultimodalDataset(av_inputs(), y)
        return training.train_classifier(av_model(), data, **TRAIN)

    case(
        "mmlearn.training.train_classifier[labels]",
        lambda: (train_with_labels, dict(y=labels())),
        kinds={"y": "labels"},
        alias={"y": ("labels",)},
    )

    # ---- lesson 06: image captioning
    def _cap_images(n=N):
        return torch.rand(n, 3, 30, 30, generator=_gen(7))

    def _captioner(blind=False):
        torch.manual_seed(0)
        return captioning.Captioner(
            captioning.RegionEncoder(30, dim=8, channels=(4, 8, 8)),
            captioning.AttentionDecoder(10, region_dim=8, hidden=8, embedding=4, attention_dim=4),
            blind=blind,
        )

    def _cap_tokens(n=N):
        return token_ids(n)[:, None, :].repeat(1, 2, 1)  # (B, 2 references, L)

    _CAP_INFO = {
        "colors": torch.tensor([[0], [2], [5]]),
        "shapes": torch.tensor([[2], [0], [1]]),
        "centers": torch.tensor([[[5, 5]], [[25, 15]], [[15, 25]]]),
    }
    _CAPTIONS = [
        "a red triangle at the top left.",
        "a blue square on the right.",
        "a grey circle at the bottom.",
    ]

    case(
        "mmlearn.captioning.RegionEncoder",
        lambda: (captioning.RegionEncoder, dict(image_size=30, dim=8, channels=(4, 8))),
    )
    case(
        "mmlearn.captioning.RegionEncoder.forward",
        lambda: (captioning.RegionEncoder(30, dim=8, channels=(4, 8)), dict(images=_cap_images())),
    )
    case(
        "mmlearn.captioning.RegionEncoder.region_at",
        lambda: (captioning.RegionEncoder(30, dim=8, channels=(4, 8)).region_at, dict(x=3, y=20)),
        kinds={"x": "count", "y": "count"},
    )
    case(
        "mmlearn.captioning.AdditiveAttention",
        lambda: (captioning.AdditiveAttention, dict(query_dim=4, key_dim=3, attention_dim=5)),
    )
    case(
        "mmlearn.captioning.AttentionDecoder",
        lambda: (
            captioning.AttentionDecoder,
            dict(vocab_size=10, region_dim=8, hidden=8, embedding=4, attention_dim=4),
        ),
        kinds={"attention": "skip"},  # a class
    )
    case(
        "mmlearn.captioning.Captioner",
        lambda: (captioning.Captioner, dict(encoder=_captioner().encoder, decoder=_captioner().decoder)),
    )
    case(
        "mmlearn.captioning.Captioner.forward",
        lambda: (_captioner(), dict(images=_cap_images(), tokens=token_ids())),
        batch=("images", "tokens"),
    )
    case(
        "mmlearn.captioning.captioning_step",
        lambda: (
            captioning.captioning_step(_captioner()),
            dict(inputs={"image": _cap_images(), "captions": _cap_tokens()}, labels=labels()),
        ),
        kinds={"labels": "skip"},  # not read
        accept={"inputs:unknown_key": "other modalities of the batch are not read"},
    )
    case(
        "mmlearn.decoding.greedy_decode",
        lambda: (
            decoding.greedy_decode,
            dict(model=_captioner().eval(), images=_cap_images(), bos_id=2, eos_id=3, max_len=5),
        ),
        kinds={"model": "skip", "pad_id": "count", "bos_id": "count", "eos_id": "count"},
    )
    case(
        "mmlearn.decoding.beam_search",
        lambda: (
            decoding.beam_search,
            dict(model=_captioner().eval(), images=_cap_images(), width=2, bos_id=2, eos_id=3, max_len=5),
        ),
        kinds={"model": "skip", "pad_id": "count", "bos_id": "count", "eos_id": "count", "step": "skip"},
    )
    case(
        "mmlearn.decoding.beam_step",
        lambda: (
            decoding.beam_step,
            dict(
                scores=torch.zeros(2, 3),
                log_probs=torch.randn(2, 3, 5, generator=_gen(8)).log_softmax(2),
                finished=torch.zeros(2, 3, dtype=torch.bool),
                eos_id=3,
            ),
        ),
        kinds={"eos_id": "count", "finished": "skip"},  # a bool mask, tried in test_decoding.py
    )
    case(
        "mmlearn.decoding.generate_captions",
        lambda: (
            decoding.generate_captions,
            dict(
                model=_captioner(),
                images=_cap_images(),
                vocab=Vocabulary([str(i) for i in range(10)]),
                width=2,
                max_len=4,
            ),
        ),
        kinds={"model": "skip", "vocab": "skip", "step": "skip"},
    )
    case(
        "mmlearn.caption_eval.bleu",
        lambda: (
            caption_eval.bleu,
            dict(hypotheses=_CAPTIONS[:2], references=[_CAPTIONS[:2], _CAPTIONS[1:]]),
        ),
        kinds={"references": "skip"},  # a list of lists: tried in test_caption_eval.py
    )
    case(
        "mmlearn.caption_eval.caption_words",
        lambda: (caption_eval.caption_words, dict(text="A red square.")),
        kinds={"text": "text"},
    )
    case(
        "mmlearn.caption_eval.parse_caption",
        lambda: (caption_eval.parse_caption, dict(caption="a red square.")),
        kinds={"caption": "text"},
    )
    case(
        "mmlearn.caption_eval.scene_objects",
        lambda: (caption_eval.scene_objects, dict(info=_CAP_INFO, i=1, size=30)),
        kinds={"info": "skip", "i": "count"},
    )
    case(
        "mmlearn.caption_eval.fact_scores",
        lambda: (caption_eval.fact_scores, dict(captions=_CAPTIONS, info=_CAP_INFO, size=30)),
        kinds={"info": "skip"},
    )
    case(
        "mmlearn.caption_eval.references_of",
        lambda: (
            caption_eval.references_of,
            dict(
                dataset=MultimodalDataset(
                    {"image": _cap_images(3)}, labels(3), {"captions": [[c] for c in _CAPTIONS]}
                )
            ),
        ),
    )
    case(
        "mmlearn.caption_plots.show_captioned_scenes",
        lambda: (
            caption_plots.show_captioned_scenes,
            dict(images=_cap_images(3), captions=_CAPTIONS, right=[True, False, True]),
        ),
        kinds={
            "images": "skip",
            "right": "skip",
            "width": "int",
            "ncols": "int",
            "suptitle": "skip",
        },  # any text
    )
    case(
        "mmlearn.caption_plots.plot_word_attention",
        lambda: (
            caption_plots.plot_word_attention,
            dict(image=_cap_images(1)[0], words=["a", "b"], weights=torch.full((2, 16), 1 / 16), stride=8),
        ),
        kinds={"image": "skip", "ncols": "int", "title": "skip"},  # a title is any text
        accept={
            "weights:int_dtype": "whole-number weights draw as well",
            "stride:float": "cells 2.5 px apart draw as well",
        },
    )
    case(
        "mmlearn.data.scene_captions.captioning_scenes",
        lambda: (
            scene_captions.captioning_scenes,
            dict(n=6, seed=0, n_test=3, n_combo=2, heldout="red triangle", max_objects=1, margin=2),
        ),
        kinds={"margin": "count"},  # 0: no margin
    )
    case(
        "mmlearn.data.scene_captions.captioned_dataset",
        lambda: (
            scene_captions.captioned_dataset,
            dict(scenes=scenes(), captions=[["a"], ["b"], ["c"]], vocab=None),
        ),
        kinds={"scenes": "skip", "captions": "skip"},
    )

    # ---- lesson 07: visual question answering (mmlearn.vqa, mmlearn.vqa_training)
    def _vqa_data(n=2):
        return sort_of_clevr(n, seed=4, n_objects=3)  # 75 x 75 scenes: 25 regions

    def _vqa_batch(n=2):
        data = _vqa_data(n)
        return data.modalities["image"].float() / 255, data.modalities["question"]

    def _vqa_model(kind="mlp"):
        torch.manual_seed(0)
        return vqa.make_vqa_model(kind, **({"dim": 8, "heads": 2} if kind == "xattn" else {"hidden": 8}))

    case(
        "mmlearn.vqa.make_vqa_model",
        lambda: (vqa.make_vqa_model, dict(kind="mlp", hidden=8)),
        kinds={"kind": "choice"},
    )
    case("mmlearn.vqa.RegionEncoder", lambda: (vqa.RegionEncoder, dict(channels=4, blocks=2)))
    case(
        "mmlearn.vqa.RegionEncoder.forward",
        lambda: (vqa.RegionEncoder(4, 2), dict(images=torch.rand(2, 3, 32, 32, generator=_gen(3)))),
        kinds={"images": "skip"},  # a conv stack: shapes are checked by the models that call it
    )
    case(
        "mmlearn.vqa.CnnMlp", lambda: (vqa.CnnMlp, dict(channels=4, hidden=8, question_dim=11, n_regions=25))
    )
    case(
        "mmlearn.vqa.RelationNetwork",
        lambda: (
            vqa.RelationNetwork,
            dict(channels=4, hidden=8, g_layers=2, question_dim=11, decomposed=True),
        ),
        kinds={"decomposed": "bool_strict"},
    )
    case(
        "mmlearn.vqa.CrossAttentionVQA",
        lambda: (
            vqa.CrossAttentionVQA,
            dict(channels=4, dim=8, heads=2, self_layers=1, hops=1, question_dim=11),
        ),
    )
    case("mmlearn.vqa.VQAModel", lambda: (vqa.VQAModel, dict(channels=4, question_dim=11)))
    for kind in ("mlp", "rn", "xattn"):
        case(
            f"mmlearn.vqa.{type(_vqa_model(kind)).__name__}.forward",
            lambda kind=kind: (
                _vqa_model(kind),
                dict(zip(("inputs", "questions"), _vqa_batch(), strict=True)),
            ),
            kinds={"inputs": "tensor", "questions": "tensor"},
            batch=("inputs", "questions"),
            alias={"inputs": ("images",)},
        )
    case(
        "mmlearn.vqa.check_vqa_inputs",
        lambda: (
            vqa.check_vqa_inputs,
            dict(zip(("images", "questions"), _vqa_batch(), strict=True), question_dim=11),
        ),
        kinds={"images": "tensor", "questions": "tensor", "question_dim": "skip"},
        batch=("images", "questions"),
    )
    case(
        "mmlearn.vqa_training.vqa_step.step",
        lambda: (
            vqa_training.vqa_step(_vqa_model()),
            dict(inputs=dict(_vqa_data().modalities), labels=_vqa_data().labels),
        ),
        kinds={"labels": "labels"},
        alias={"inputs": ("images", "questions")},
        accept={"inputs:unknown_key": "other modalities of the batch are not read"},
    )
    case("mmlearn.vqa_training.vqa_step", lambda: (vqa_training.vqa_step, dict(model=_vqa_model())))
    case(
        "mmlearn.vqa_training.check_vqa_dataset",
        lambda: (vqa_training.check_vqa_dataset, dict(data=_vqa_data(), name="data")),
        kinds={"name": "skip"},
    )
    case(
        "mmlearn.vqa_training.predict_answers",
        lambda: (vqa_training.predict_answers, dict(model=_vqa_model(), data=_vqa_data(), batch_size=2)),
    )
    case(
        "mmlearn.vqa_training.evaluate_vqa",
        lambda: (vqa_training.evaluate_vqa, dict(model=_vqa_model(), data=_vqa_data(), batch_size=2)),
    )
    case(
        "mmlearn.vqa_training.accuracy_by_type",
        lambda: (
            vqa_training.accuracy_by_type,
            dict(predicted=_vqa_data().labels, answers=_vqa_data().labels, qtype=_vqa_data().info["qtype"]),
        ),
        kinds={"predicted": "labels", "answers": "labels", "qtype": "labels"},
    )
    case(
        "mmlearn.vqa_training.train_vqa",
        lambda: (
            vqa_training.train_vqa,
            dict(
                model=_vqa_model(),
                train=_vqa_data(4),
                val=None,
                epochs=1,
                lr=0.01,
                batch_size=2,
                progress=False,
            ),
        ),
        kinds={"val": "skip"},
    )

    def _vqa_file():
        path = Path(tempfile.mkdtemp()) / "vqa.pt"
        checkpoints.save_checkpoint(
            path, {"kind": "mlp", "options": {"hidden": 8}, "model": _vqa_model().state_dict()}
        )
        return path

    case(
        "mmlearn.vqa_training.load_vqa_checkpoint",
        lambda: (vqa_training.load_vqa_checkpoint, dict(path=_vqa_file(), sha256=None)),
        kinds={"path": "path"},
    )
    case(
        "mmlearn.train.sha256_of",
        lambda: (train_cli.sha256_of, dict(path=_vqa_file())),
        kinds={"path": "path"},
    )

    # ---- lesson 11: several processes (mmlearn.distributed, mmlearn.ddp_check)
    def parts():
        return dict(image_parts=list(features(seed=12).chunk(2)), text_parts=list(features(seed=13).chunk(2)))

    case(
        "mmlearn.distributed.gathered_clip_loss",
        lambda: (distributed.gathered_clip_loss, dict(pair(), logit_scale=10.0, local_loss=False)),
        kinds={"local_loss": "bool_strict"},
        batch=pair_batch,
    )
    case(
        "mmlearn.distributed.gathered_siglip_loss",
        lambda: (distributed.gathered_siglip_loss, dict(pair(), logit_scale=10.0, logit_bias=-1.0)),
        kinds={"logit_bias": "real"},
        batch=pair_batch,
    )
    case(
        "mmlearn.distributed.gather_with_grad",
        lambda: (distributed.gather_with_grad, dict(x=features())),
        kinds={"x": "skip"},
    )
    case(
        "mmlearn.distributed.local_clip_loss",
        lambda: (distributed.local_clip_loss, dict(parts(), rank=1, logit_scale=10.0)),
        kinds={"image_parts": "tensors", "text_parts": "tensors", "rank": "count"},
    )
    case(
        "mmlearn.distributed.ring_siglip_loss",
        lambda: (distributed.ring_siglip_loss, dict(parts(), rank=0, logit_scale=10.0, logit_bias=-1.0)),
        kinds={"image_parts": "tensors", "text_parts": "tensors", "rank": "count", "logit_bias": "real"},
    )
    case(
        "mmlearn.distributed.WithoutGather",
        lambda: (distributed.WithoutGather, dict(loss=losses.ClipLoss(), world=2)),
        kinds={"loss": "module"},
    )
    case(
        "mmlearn.distributed.WithoutGather.forward",
        lambda: (distributed.WithoutGather(losses.ClipLoss(), 2).forward, pair()),
        batch=pair_batch,
    )
    case(
        "mmlearn.distributed.AcrossRanks",
        lambda: (distributed.AcrossRanks, dict(loss=losses.ClipLoss(), local_loss=False)),
        kinds={"loss": "module", "local_loss": "bool_strict"},
    )
    case(
        "mmlearn.distributed.AcrossRanks.forward",
        lambda: (distributed.AcrossRanks(losses.SigLipLoss()).forward, pair()),
        batch=pair_batch,
    )
    case(
        "mmlearn.ddp_check.one_process_step",
        lambda: (ddp_check.one_process_step, dict(loss="clip", local_loss=False, batch=8, seed=0)),
        kinds={"loss": "choice", "local_loss": "bool_strict"},
    )

    return cases


# Bad values that still get a wrong (NaN) result, left as they are on purpose: "case:argument:label" -> why.
EXCEPTIONS = {
    # to_module_dtype only converts the dtype at an encoder's door; every encoder has checked the values
    # already, and checking them twice would wait on a GPU twice per batch.
    "mmlearn.validation.to_module_dtype:x:nan": "the encoders check the values before converting",
    "mmlearn.validation.to_module_dtype:x:inf": "the encoders check the values before converting",
}


# --- running the catalogue -------------------------------------------------------------------------


@dataclass
class Outcome:
    case: str
    arg: str
    label: str
    result: str  # "clear", "accepted", "excepted" (in EXCEPTIONS) or "other"
    detail: str = ""


def _drain(result):
    """Run what a call defers: a generator is consumed, a context manager entered and left."""
    if isinstance(result, Iterator) and inspect.isgenerator(result):
        return list(result)
    if hasattr(result, "__enter__") and hasattr(result, "__exit__") and not isinstance(result, nn.Module):
        with result:
            pass
    return result


def _nonfinite(x, depth=0) -> int:
    """How many NaN / inf values ``x`` holds (tensors, arrays, numbers, containers, datasets)."""
    if depth > 4:
        return 0
    if isinstance(x, torch.Tensor):
        return int((~torch.isfinite(x)).sum()) if (x.is_floating_point() or x.is_complex()) else 0
    if isinstance(x, np.ndarray):
        return int((~np.isfinite(x)).sum()) if np.issubdtype(x.dtype, np.inexact) else 0
    if isinstance(x, float):
        return int(not math.isfinite(x))
    if isinstance(x, Mapping):
        return sum(_nonfinite(v, depth + 1) for v in x.values())
    if isinstance(x, list | tuple):
        return sum(_nonfinite(v, depth + 1) for v in x[:64])
    if hasattr(x, "modalities") and hasattr(x, "labels"):
        return _nonfinite(x.modalities, depth + 1) + _nonfinite(x.labels, depth + 1)
    return 0


def _optional(fn) -> set[str]:
    """The parameters whose default is None: None is a valid value for them."""
    try:
        return {n for n, p in inspect.signature(fn).parameters.items() if p.default is None}
    except (TypeError, ValueError):
        return set()


def _signature_kwargs(fn, kwargs: dict) -> dict:
    """``kwargs`` plus every parameter default the call did not set (so defaults are tried too)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    out = dict(kwargs)
    for name, p in params.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in out or p.default is p.empty:
            continue
        out[name] = p.default
    return out


def _names(message: str, words) -> bool:
    return any(re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", message) for w in words)


def _quiet_call(fn, kwargs):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return _drain(fn(**kwargs))


def run_case(case: Case) -> list[Outcome]:
    """Try every bad value of every argument of ``case``; the valid call itself must work."""
    fn, kwargs = case.make()
    kwargs = _signature_kwargs(fn, kwargs)
    baseline = _quiet_call(fn, kwargs)
    baseline_nonfinite = _nonfinite(baseline)
    optional_args = _optional(fn)
    outcomes = []
    for arg, value in kwargs.items():
        kind = case.kinds.get(arg) or infer_kind(arg, value)
        if kind is None or kind == "skip":
            continue
        optional = kind.endswith("?") or arg in optional_args
        kind = kind.rstrip("?")
        if value is None:  # an optional argument left at None: no valid value to derive bad ones from
            continue
        values = [(label, bad) for label, bad in BAD[kind](value) if not (optional and label == "none")]
        if arg in case.batch:
            values.append(("batch", value[:-1]))
        words = (arg, *case.alias.get(arg, ()), *ALIASES.get(kind, ()))
        for label, bad in values:
            fn, fresh = case.make()
            fresh = _signature_kwargs(fn, fresh)
            fresh[arg] = bad
            outcomes.append(_classify(case, arg, label, fn, fresh, words, baseline_nonfinite))
    return outcomes


def _classify(case, arg, label, fn, kwargs, words, baseline_nonfinite) -> Outcome:
    key = f"{arg}:{label}"
    try:
        result = _quiet_call(fn, kwargs)
    except (ValueError, TypeError, KeyError) as err:
        message = str(err)
        if _names(message, words):
            return Outcome(case.name, arg, label, "clear")
        return Outcome(case.name, arg, label, "other", f"{type(err).__name__} naming no argument: {message}")
    except Exception as err:  # noqa: BLE001 - any other error is what the test reports
        return Outcome(case.name, arg, label, "other", f"{type(err).__name__}: {err}")
    if key not in case.accept:
        return Outcome(case.name, arg, label, "other", f"silently accepted, returned {type(result).__name__}")
    if baseline_nonfinite == 0 and _nonfinite(result):
        if f"{case.name}:{key}" in EXCEPTIONS:
            return Outcome(case.name, arg, label, "excepted", EXCEPTIONS[f"{case.name}:{key}"])
        return Outcome(case.name, arg, label, "other", "accepted, but the result holds NaN or inf")
    return Outcome(case.name, arg, label, "accepted")


# --- which callables are public, and which are not tried -------------------------------------------

# Public callables not in CASES, each with the reason.
COVERAGE_SKIPS = {
    "mmlearn.caption_eval.SceneObject": "a NamedTuple that parse_caption and scene_objects build",
    "mmlearn.decoding.Decoded": "a NamedTuple that the decoders build",
    "mmlearn.data.scene_captions.CaptioningData": "a NamedTuple that captioning_scenes builds",
    # command-line entry points and process-group plumbing: argparse checks their arguments
    "mmlearn.train.main": "argparse checks the command line (tests/test_vqa.py runs it)",
    "mmlearn.train.parser": "builds the argparse parser; takes no input",
    "mmlearn.train.train_vqa_command": "called by main with argparse's checked arguments",
    "mmlearn.train.train_clip_command": "called by main with argparse's checked arguments",
    "mmlearn.train.hardware": "describes a torch.device the command made itself",
    "mmlearn.ddp_check.main": "argparse checks the command line (lesson 11 and tests run it under torchrun)",
    "mmlearn.ddp_check.check_modules": "one_process_step and main check, then call it",
    "mmlearn.ddp_check.gradients": "reads .grad of modules the check built itself",
    "mmlearn.ddp_check.exit_now": "takes no argument: ends a finished torchrun process",
    "mmlearn.distributed.rank_and_world": "takes no argument",
    "mmlearn.distributed.is_main_process": "takes no argument",
    "mmlearn.distributed.setup_from_environment": "reads torchrun's environment; takes no argument",
    "mmlearn.vqa_training.load_shipped": "nothing is shipped yet (issue 12); load_vqa_checkpoint is tried",
    # plain records: dataclasses and named tuples the package builds itself from checked values
    "mmlearn.data.base.DatasetSplits": "a NamedTuple of three datasets, built by the generators",
    "mmlearn.data.clinical_model.ClinicalCases": "a record built by sample_clinical_cases",
    "mmlearn.data.clinical_model.ImageFactor": "a constant table row",
    "mmlearn.data.clinical_model.RecordField": "a constant table row",
    "mmlearn.data.scene_questions.Questions": "a record built by make_questions",
    "mmlearn.data.scene_render.Scenes": "a record built by make_scenes",
    "mmlearn.data.sensors.Activity": "a constant table row",
    "mmlearn.data.spoken_digits.SpokenDigits": "a record built by load_spoken_digits",
    "mmlearn.recipes.ContrastiveScenes": "a record built by contrastive_scenes",
    # internal steps of a generator, on arguments the generator has checked
    "mmlearn.data.clinical_model.draw_cases": "sample_clinical_cases checks, then calls it",
    "mmlearn.data.lesion_images.draw_lesions": "clinical_lesions and render_lesions check, then call it",
    "mmlearn.data.scene_render.place_objects": "make_scenes checks, then calls it",
    "mmlearn.data.scene_render.render": "make_scenes checks, then calls it",
    "mmlearn.data.scene_render.object_tiles": "make_scenes checks, then calls it (through render)",
    "mmlearn.data.scene_questions.answer_questions": "make_questions draws its arguments",
    "mmlearn.data.scene_questions.question_bits": "make_questions draws its arguments",
    "mmlearn.fusion.base.fill_missing": "called by the fusion models on their own encoder outputs",
    "mmlearn.fusion.base.EncoderFusion": "an abstract base; its subclasses are tried",
    "mmlearn.fusion.base.FusionModel": "an abstract base; its methods are tried on a subclass",
    # slow: each run generates thousands of scenes, its checks are make_scenes' and scene_captions'
    "mmlearn.recipes.contrastive_scenes": "generates 10,000 scenes; its arguments go to scene_captions",
}


def public_callables() -> dict[str, object]:
    """Every public function and class of the package (outside ``SKIP_PACKAGES`` and plotting), by name."""
    found = {}
    for info in pkgutil.walk_packages(mmlearn.__path__, "mmlearn."):
        if info.name.startswith(SKIP_PACKAGES) or info.name == "mmlearn.plotting":
            continue  # plotting is optional here: it draws figures, its inputs go through to_numpy
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, obj in vars(module).items() if getattr(obj, "__module__", None) == info.name]
        for n in names:
            obj = getattr(module, n)
            if n.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # an exception class: raised, not called with user input
            found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


# --- the tests -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_results_file(monkeypatch):
    """``report.record`` must not write into a course run's results file; global state is restored."""
    import matplotlib as mpl

    monkeypatch.delenv("MMLEARN_RESULTS_FILE", raising=False)
    deterministic = torch.are_deterministic_algorithms_enabled()
    with mpl.rc_context():
        yield
    torch.use_deterministic_algorithms(deterministic)


CASES = _cases()


def test_every_public_callable_is_in_the_table():
    public = set(public_callables())
    tried = {c.name.split("[")[0] for c in CASES}
    missing = sorted(public - tried - set(COVERAGE_SKIPS) - _covered_by_methods(tried))
    assert not missing, (
        f"public callables with no valid call in CASES (add one, or a COVERAGE_SKIPS reason): {missing}"
    )
    gone = sorted(set(COVERAGE_SKIPS) - public)
    assert not gone, f"COVERAGE_SKIPS names callables that are no longer public: {gone}"


def _covered_by_methods(tried: set[str]) -> set[str]:
    """A class counts as tried when its constructor or one of its methods is."""
    return {name.rsplit(".", 1)[0] for name in tried}


@pytest.mark.parametrize("case", CASES, ids=[c.name.removeprefix("mmlearn.") for c in CASES])
def test_bad_arguments_are_named(case):
    outcomes = run_case(case)
    bad = [f"{o.arg}={o.label}: {o.detail}" for o in outcomes if o.result == "other"]
    assert not bad, f"{case.name}:\n" + "\n".join(bad)
    accepted = {f"{o.arg}:{o.label}" for o in outcomes if o.result in ("accepted", "excepted")}
    stale = sorted(set(case.accept) - accepted)
    assert not stale, f"{case.name}: accept entries for values that are refused or never tried: {stale}"


def main() -> None:
    """Print the counts and every failure (``python tests/test_bad_inputs.py``)."""
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    import matplotlib as mpl

    os.environ.pop("MMLEARN_RESULTS_FILE", None)
    broken = []  # cases whose valid call fails (on an older version of the package: the callable is new)
    for case in CASES:
        with mpl.rc_context():
            try:
                outcomes += run_case(case)
            except Exception as err:  # noqa: BLE001 - the valid call itself failed
                broken.append(f"{case.name}: {type(err).__name__}: {str(err)[:120]}")
    for line in broken:
        print(f"NOT TRIED (the valid call fails) {line}")
    counts = {r: sum(o.result == r for o in outcomes) for r in ("clear", "accepted", "excepted", "other")}
    for o in outcomes:
        if o.result == "other":
            print(f"OTHER {o.case} {o.arg}={o.label}: {o.detail[:200]}")
    print(
        f"tried {len(outcomes)}: clear error {counts['clear']}, accepted-valid {counts['accepted']}, "
        f"other {counts['other'] + counts['excepted']} ({counts['excepted']} of them listed in EXCEPTIONS) "
        f"({len(CASES) - len(broken)} callables, {time.perf_counter() - start:.1f} s)"
    )


if __name__ == "__main__":
    sys.exit(main())
