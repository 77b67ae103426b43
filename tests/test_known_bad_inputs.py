"""The bad inputs the issue "Nothing a student or a network does breaks a lesson" (point 2) names.

Each test is one known case: before the fix it ended in a torch or NumPy
error that names nothing the caller passed, in a silent wrong result, or in a
message naming another argument. ``test_bad_inputs.py`` tries the whole
package; these keep the named cases visible on their own.
"""

import math

import pytest
import torch
from torch import nn

from mmlearn.adversarial import AdversarialPerturbation, fgsm, pgd
from mmlearn.data import MultimodalDataset, Vocabulary, av_digits, imu_channels, log_mel, mfcc
from mmlearn.encoders import AudioEncoder, ImageEncoder
from mmlearn.fusion import make_fusion_model
from mmlearn.inference import cross_modal_similarity
from mmlearn.losses import clip_loss
from mmlearn.metrics import accuracy, balanced_accuracy
from mmlearn.strategies import ModalityDropout, pretrain_encoder, staged_training
from mmlearn.training import classification_step, fit, train_classifier

N = 6
GOOD_LABELS = torch.tensor([0, 1, 2, 0, 1, 2])
BAD_LABELS = {
    "length mismatch": (torch.tensor([0, 1, 2, 0, 1]), ValueError, "labels has 5 entries"),
    "out of range": (torch.tensor([0, 1, 2, 0, 1, 10]), ValueError, "labels must be class indices"),
    "float dtype": (GOOD_LABELS.float(), TypeError, "labels must hold integer class indices"),
    "None": (None, TypeError, "labels must be a torch.Tensor"),
}


def _inputs():
    gen = torch.Generator().manual_seed(0)
    return {"image": torch.rand(N, 1, 8, 8, generator=gen), "audio": torch.randn(N, 3, 6, generator=gen)}


def _model():
    torch.manual_seed(0)
    encoders = {
        "image": ImageEncoder(1, out_dim=8, channels=(4,)),
        "audio": AudioEncoder(n_feat=3, out_dim=8, channels=(4,)),
    }
    return make_fusion_model("intermediate", encoders, 3)


def _dataset(labels=GOOD_LABELS):
    return MultimodalDataset(_inputs(), labels)


# --- labels in training steps, training loops and attacks --------------------------------------------


@pytest.mark.parametrize("which", list(BAD_LABELS))
def test_a_training_step_names_bad_labels(which):
    labels, error, match = BAD_LABELS[which]
    with pytest.raises(error, match=match):
        classification_step(_model())(_inputs(), labels)
    with pytest.raises(error, match=match):
        _model().training_step(_inputs(), labels)


class _Plain(nn.Module):
    """A classifier without ``training_step``: the step computes the cross-entropy itself."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3 * 6, 3)

    def forward(self, inputs):
        return self.linear(inputs["audio"].flatten(1))  # (B, 3)


@pytest.mark.parametrize("which", list(BAD_LABELS))
def test_a_step_without_a_training_step_names_bad_labels(which):
    labels, error, match = BAD_LABELS[which]
    with pytest.raises(error, match=match):
        classification_step(_Plain())(_inputs(), labels)


def test_the_training_loop_names_labels_out_of_range():
    # the model's own training_step met the bad label first: "IndexError: Target 3 is out of bounds"
    data, options = _dataset(torch.tensor([0, 1, 2, 0, 1, 3])), dict(epochs=1, lr=0.01, progress=False)
    with pytest.raises(ValueError, match="labels go up to 3"):
        train_classifier(_model(), data, batch_size=3, **options)
    model = _model()
    with pytest.raises(ValueError, match="labels must be class indices"):
        fit(model, data, classification_step(model), batch_size=6, **options)


@pytest.mark.parametrize("which", list(BAD_LABELS))
@pytest.mark.parametrize("attack", ["fgsm", "pgd", "transform"])
def test_attacks_name_bad_labels(attack, which):
    labels, error, match = BAD_LABELS[which]
    model = _model().eval()
    with pytest.raises(error, match=match):
        if attack == "fgsm":
            fgsm(model, _inputs(), labels, "audio", 0.1)
        elif attack == "pgd":
            pgd(model, _inputs(), labels, "audio", 0.1, steps=2)
        else:
            AdversarialPerturbation(model, "audio", 0.1)(_inputs(), labels)


@pytest.mark.parametrize("epsilon", [math.inf, math.nan])
def test_attacks_refuse_an_infinite_or_nan_epsilon(epsilon):
    model = _model().eval()
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        fgsm(model, _inputs(), GOOD_LABELS, "audio", epsilon)
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        pgd(model, _inputs(), GOOD_LABELS, "audio", epsilon, steps=2)
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        AdversarialPerturbation(model, "audio", epsilon)


# --- metrics -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", [accuracy, balanced_accuracy])
def test_a_target_the_logits_cannot_predict_is_refused(metric):
    logits = torch.randn(4, 10)
    with pytest.raises(ValueError, match="targets go up to 10 but logits_or_predictions scores 10 classes"):
        metric(logits, torch.tensor([0, 3, 9, 10]))


# --- a string where a list of names is expected ------------------------------------------------------


def test_one_string_is_not_split_into_letters():
    with pytest.raises(TypeError, match="words must be a list"):
        Vocabulary("abc")
    with pytest.raises(TypeError, match="texts must be a list"):
        Vocabulary.build("abc")
    with pytest.raises(TypeError, match="modalities must be a list of names"):
        ModalityDropout(0.5, "image")


# --- indices and split fractions -------------------------------------------------------------------


@pytest.mark.parametrize("index", [[0.5], [math.nan], [True, False]])
def test_subset_refuses_indices_that_are_not_whole_numbers(index):
    with pytest.raises(TypeError, match="index must be a flat list of whole row numbers"):
        _dataset().subset(index)


def test_subset_names_an_index_past_the_end():
    with pytest.raises(ValueError, match="index holds row 6, outside the 6 rows"):
        _dataset().subset([0, 6])


@pytest.mark.parametrize("fractions", [(0.4, 0.3, math.nan), (math.nan, 0.5, 0.5)])
def test_nan_split_fractions_are_refused(fractions):
    # (0.4, 0.3, nan) built three splits without a word: only the first two fractions cut the pools
    with pytest.raises(ValueError, match="pool_fractions must be three positive numbers summing to 1"):
        av_digits(35, pool_fractions=fractions)
    with pytest.raises(ValueError, match="fractions must be numbers in"):
        _dataset().split(fractions)


# --- audio features: a clip is too short for its own n_fft -------------------------------------------


def test_log_mel_and_mfcc_check_clips_against_their_own_n_fft():
    short = torch.randn(2, 200) * 0.1
    for features in (log_mel, mfcc):
        with pytest.raises(ValueError, match="too short .* n_fft=1024"):
            features(short, n_fft=1024)
        clip = torch.randn(2, 100) * 0.1  # refused before, against the default n_fft=256
        assert features(clip, n_fft=64, hop_length=16, n_mels=16).shape[-1] == 1 + 100 // 16


# --- the sensor helpers ---------------------------------------------------------------------------


def test_imu_channels_refuses_mismatched_batches_and_nan():
    accel, gyro = torch.randn(2, 3, 8), torch.randn(3, 3, 8)
    with pytest.raises(ValueError, match="batch sizes differ"):
        imu_channels({"accel": accel, "gyro": gyro})
    with pytest.raises(ValueError, match="modality 'gyro' contains NaN"):
        imu_channels({"accel": accel, "gyro": torch.full((2, 3, 8), math.nan)})
    with pytest.raises(ValueError, match="'accel' has 8 time steps but 'gyro' has 9"):
        imu_channels({"accel": accel, "gyro": torch.randn(2, 3, 9)})


# --- messages that named another argument ------------------------------------------------------------


def test_messages_name_the_argument_the_caller_passed():
    train = _dataset()
    encoders = {"image": ImageEncoder(1, out_dim=8, channels=(4,))}
    options = dict(num_classes=3, pretrain_epochs=1, lr=0.01, batch_size=3, progress=False)
    with pytest.raises(ValueError, match="fuse_epochs must be a positive integer"):  # was "epochs"
        staged_training(encoders, train, fuse_epochs=0, **options)
    with pytest.raises(ValueError, match="fuse_lr must be a positive finite number"):  # was "lr"
        staged_training(encoders, train, fuse_epochs=1, fuse_lr=-1.0, **options)
    with pytest.raises(TypeError, match="train must be a mmlearn.data.MultimodalDataset"):  # was "dataset"
        pretrain_encoder(encoders["image"], "image", None, num_classes=3, epochs=1, lr=0.01, batch_size=3)
    with pytest.raises(ValueError, match="n_feat must be a positive integer"):  # was "in_channels"
        AudioEncoder(n_feat=0)
    with pytest.raises(TypeError, match="images must be a torch.Tensor"):  # was "data"
        cross_modal_similarity(encoders["image"], encoders["image"], None, torch.rand(2, 1, 8, 8))
    with pytest.raises(TypeError, match="text_features must be floating point"):  # was "features"
        clip_loss(torch.randn(3, 4), torch.ones(3, 4, dtype=torch.long), 10.0)
    with pytest.raises(TypeError, match="branches must be a non-empty dict"):  # was "encoders"
        make_fusion_model("intermediate", None, 3)


def test_split_sizes_always_add_up_to_n_and_classes_may_come_from_a_generator():
    from mmlearn.data.base import MultimodalDataset, split_sizes

    n = 10_000_000
    assert sum(split_sizes(n, (0.4999996, 0.5))) == n  # within the 1e-6 tolerance: no row is lost
    data = MultimodalDataset({"x": torch.zeros(3, 1)}, torch.tensor([0, 1, 2]), classes=(c for c in "abc"))
    assert data.classes == ("a", "b", "c")
