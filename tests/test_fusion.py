"""Tests for mmlearn.fusion: the shared interface, each method's maths, missing modalities, bad inputs."""

import pytest
import torch
import torch.nn.functional as F

from mmlearn.encoders import AudioEncoder, ImageEncoder, MLPEncoder, TextEncoder
from mmlearn.fusion import (
    FUSION_METHODS,
    AttentionFusion,
    LateFusion,
    LowRankFusion,
    TensorFusion,
    UnimodalClassifier,
    make_fusion_model,
    outer_product,
)

C = 4
SHAPES = {"image": (1, 8, 8), "audio": (13, 10)}
NATIVE = ["late_mean", "late_weighted", "late_vote", "late_learned", "attention", "gated"]
POLICY = ["early", "intermediate", "tensor", "low_rank"]


def encoders():
    return {
        "image": ImageEncoder(1, out_dim=12, channels=(4, 8)),
        "audio": AudioEncoder(13, out_dim=10, channels=(8, 8)),
    }


def build(method, **kw):
    return make_fusion_model(method, SHAPES if method == "early" else encoders(), C, **kw)


def batch(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "image": torch.rand(n, *SHAPES["image"], generator=g),
        "audio": torch.randn(n, *SHAPES["audio"], generator=g),
    }


def sgd_steps(model, loss_fn, steps, lr):
    """Plain gradient descent (no torch.optim: its first use imports torch._dynamo, seconds on a CPU)."""
    losses = []
    for _ in range(steps):
        model.zero_grad()
        loss = loss_fn()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


def perturb_(module):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))


# ---------------------------------------------------------------- interface


def test_factory_knows_exactly_the_ten_methods():
    assert FUSION_METHODS == [
        "early",
        "late_mean",
        "late_weighted",
        "late_vote",
        "late_learned",
        "intermediate",
        "attention",
        "tensor",
        "low_rank",
        "gated",
    ]
    with pytest.raises(ValueError, match="unknown fusion method 'sum'"):
        build("sum")
    with pytest.raises(TypeError):
        build("intermediate", rank=3)
    with pytest.raises(TypeError, match="early fusion has no encoders: pass input_shapes"):
        make_fusion_model("early", encoders(), C)  # the factory asks early fusion only for what it uses


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_output_shape(method):
    torch.manual_seed(0)
    out = build(method)(batch())
    assert out.shape == (6, C)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_deterministic_given_seed(method):
    torch.manual_seed(5)
    a = build(method).eval()
    torch.manual_seed(5)
    b = build(method).eval()
    assert torch.equal(a(batch()), b(batch()))


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_gradients_reach_every_encoder(method):
    torch.manual_seed(0)
    model = build(method)
    model.loss(batch(), torch.arange(6) % C).backward()
    if method == "early":  # no encoders: the raw inputs meet in one MLP
        assert not hasattr(model, "encoders")
    else:
        for name, enc in model.encoders.items():
            grads = [p.grad for p in enc.parameters()]
            assert all(g is not None for g in grads), name
            assert sum(float(g.abs().sum()) for g in grads) > 0, name
    assert all(p.grad is not None for p in model.parameters())


def test_intermediate_trains_on_a_separable_toy_problem():
    torch.manual_seed(0)
    n = 64
    y = torch.arange(n) % 2
    inputs = {"a": torch.randn(n, 3) + 2.0 * y[:, None], "b": torch.randn(n, 5) - 2.0 * y[:, None]}
    model = make_fusion_model("intermediate", {"a": MLPEncoder(3, 8), "b": MLPEncoder(5, 8)}, 2)
    losses = sgd_steps(model, lambda: model.loss(inputs, y), steps=30, lr=0.1)
    assert losses[-1] < 0.3 * losses[0]
    model.eval()
    assert (model(inputs).argmax(1) == y).float().mean() > 0.9


# ---------------------------------------------------------------- missing modality


@pytest.mark.parametrize("method", NATIVE)
@pytest.mark.parametrize("how", ["absent", "none"])
def test_native_methods_ignore_a_missing_modality(method, how):
    torch.manual_seed(0)
    model = build(method).eval()
    x = batch()
    inputs = {"image": x["image"]} if how == "absent" else {"image": x["image"], "audio": None}
    out, out_both = model(inputs), model(x)
    assert out.shape == (6, C) and torch.isfinite(out).all()
    perturb_(model.encoders["audio"])  # the missing modality's encoder can no longer matter
    assert torch.allclose(model(inputs), out, atol=1e-6)
    assert not torch.allclose(model(x), out_both, atol=1e-3)  # while with audio present it does


@pytest.mark.parametrize("method", POLICY)
def test_policy_methods_raise_naming_the_missing_modality(method):
    model = build(method)
    assert not model.supports_missing
    with pytest.raises(KeyError, match="modality 'audio' is missing.*missing='zeros'"):
        model({"image": batch()["image"]})
    with pytest.raises(KeyError, match="'audio' is missing"):
        model({"image": batch()["image"], "audio": None})


@pytest.mark.parametrize("method", POLICY)
def test_policy_methods_substitute_zeros_when_asked(method):
    torch.manual_seed(0)
    model = build(method, missing="zeros").eval()
    assert model.supports_missing
    out = model({"image": batch()["image"]})
    assert out.shape == (6, C) and torch.isfinite(out).all()
    model.missing = "error"  # the policy can be changed after training
    with pytest.raises(KeyError):
        model({"image": batch()["image"]})
    with pytest.raises(ValueError, match="missing must be one of"):
        model.missing = "mean"


def test_early_zeros_means_raw_input_of_zeros():
    torch.manual_seed(0)
    model = build("early", missing="zeros").eval()
    x = batch()
    expected = model({"image": x["image"], "audio": torch.zeros(6, *SHAPES["audio"])})
    assert torch.allclose(model({"image": x["image"]}), expected)


def test_intermediate_zeros_means_zero_features():
    torch.manual_seed(0)
    model = build("intermediate", missing="zeros").eval()
    img = batch()["image"]
    feats = torch.cat([model.encoders["image"](img), torch.zeros(6, 10)], dim=1)
    assert torch.allclose(model({"image": img}), model.head(feats))


def test_tensor_zeros_keeps_only_terms_without_the_missing_modality():
    torch.manual_seed(0)
    model = build("tensor", proj_dim=3, missing="zeros").eval()
    z = model.augmented({"image": batch()["image"]})
    assert torch.equal(z[1], torch.tensor([[0.0, 0.0, 0.0, 1.0]]).expand(6, 4))
    outer = outer_product(z).view(6, 4, 4)
    assert torch.equal(outer[:, :, :3], torch.zeros(6, 4, 3))  # every product with audio features is 0


def test_late_missing_modality_renormalises_to_the_one_present():
    torch.manual_seed(0)
    for rule in ("mean", "weighted", "vote", "learned"):
        model = LateFusion(encoders(), C, rule=rule).eval()
        if rule == "weighted":
            model.set_weights([0.3, 0.7])
        img = {"image": batch()["image"]}
        uni = model.unimodal_logits(img)
        assert list(uni) == ["image"]
        if rule == "vote":  # one voter: its class wins, scores still a distribution
            assert torch.equal(model(img).argmax(1), uni["image"].argmax(1))
            assert torch.allclose(model(img).exp().sum(1), torch.ones(6))
        else:
            assert torch.allclose(model(img), F.log_softmax(uni["image"], dim=1), atol=1e-6)


def test_gated_missing_modality_gets_zero_gate():
    torch.manual_seed(0)
    model = build("gated").eval()
    model(batch())
    assert torch.allclose(model.last_gates.sum(1), torch.ones(6))
    assert (model.last_gates > 0).all()
    model({"image": batch()["image"]})
    assert torch.equal(model.last_gates, torch.tensor([[1.0, 0.0]]).expand(6, 2))


def test_attention_puts_no_weight_on_a_missing_modality():
    torch.manual_seed(0)
    model = build("attention").eval()
    model(batch())
    assert model.last_attention.shape == (6, 2, 2)
    model({"image": batch()["image"]})
    assert torch.equal(model.last_attention[:, :, 1], torch.zeros(6, 2))


def test_every_modality_missing_is_an_error():
    for method in FUSION_METHODS:
        with pytest.raises(ValueError, match="no modality"):
            build(method, **({"missing": "zeros"} if method in POLICY else {}))({"image": None})


# ---------------------------------------------------------------- late fusion


def test_late_weighted_one_zero_equals_first_modality_classifier():
    torch.manual_seed(0)
    model = build("late_weighted").eval()
    x = batch(20)
    model.set_weights((1, 0))
    uni = model.unimodal_logits(x)["image"]
    alone = model.classifiers["image"]({"image": x["image"], "audio": x["audio"]})
    assert torch.allclose(model(x), F.log_softmax(uni, dim=1), atol=1e-6)
    assert torch.equal(model(x).argmax(1), alone.argmax(1))
    model.set_weights({"image": 0.0, "audio": 2.0})  # a slider moved: no retraining needed
    assert torch.equal(model(x).argmax(1), model.unimodal_logits(x)["audio"].argmax(1))
    with pytest.raises(ValueError, match="weight 0"):
        model({"image": x["image"]})


@pytest.mark.parametrize(
    "weights,match",
    [
        ((1.0,), "expected 2 weights"),
        ((0.0, 0.0), "not all zero"),
        ((1.0, -0.5), "non-negative"),
        ({"image": 1}, "each of"),
    ],
)
def test_late_weighted_rejects_bad_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        build("late_weighted").set_weights(weights)


def three_voters():
    return LateFusion({m: MLPEncoder(2, 4) for m in ("a", "b", "c")}, 3, rule="vote")


def test_late_vote_majority_beats_one_confident_modality():
    model = three_voters()
    logits = {
        "a": torch.tensor([[9.0, 0.0, 0.0]]),  # very sure of class 0
        "b": torch.tensor([[0.0, 1.0, 0.0]]),  # mildly for class 1
        "c": torch.tensor([[0.0, 1.0, 0.5]]),  # mildly for class 1
    }
    scores = model.combine(logits)
    assert scores.argmax(1).item() == 1
    assert torch.allclose(scores.exp().sum(), torch.tensor(1.0))
    mean = LateFusion({m: MLPEncoder(2, 4) for m in "abc"}, 3, rule="mean").combine(logits)
    assert mean.argmax(1).item() == 0  # averaging probabilities would follow the confident one


def test_late_vote_ties_broken_by_summed_probabilities():
    model = three_voters()
    logits = {
        "a": torch.tensor([[3.0, 0.0, 0.0], [3.0, 0.0, 0.0]]),  # class 0, confident
        "b": torch.tensor([[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]]),  # class 1, unsure
        "c": torch.tensor([[0.0, 0.0, 0.2], [0.0, 0.0, 9.0]]),  # class 2, unsure / confident
    }
    probs = torch.stack([torch.softmax(v, 1) for v in logits.values()]).sum(0)
    scores = model.combine(logits)  # one vote each: a three-way tie
    assert scores.argmax(1).tolist() == probs.argmax(1).tolist() == [0, 2]
    expected = (torch.ones(2, 3) + probs / 3) / 4  # (votes + mean probability) / (voters + 1)
    assert torch.allclose(scores, expected.log())


def test_late_rule_can_switch_but_not_to_learned():
    model = build("late_mean")
    model.rule = "vote"
    assert model.rule == "vote"
    with pytest.raises(ValueError, match="rule"):
        model.rule = "learned"
    with pytest.raises(ValueError, match="rule must be one of"):
        LateFusion(encoders(), C, rule="max")


def test_late_learned_weights_favour_the_informative_modality():
    torch.manual_seed(0)
    n = 64
    y = torch.arange(n) % 2
    inputs = {"signal": torch.randn(n, 3) + 3.0 * y[:, None], "noise": torch.randn(n, 3)}
    model = LateFusion({"signal": MLPEncoder(3, 8), "noise": MLPEncoder(3, 8)}, 2, rule="learned")
    sgd_steps(model, lambda: model.loss(inputs, y), steps=40, lr=0.3)
    w = model.modality_weights()
    assert torch.allclose(w.sum(), torch.tensor(1.0))
    assert w[0] > 0.6 > w[1]


def test_late_loss_trains_each_classifier_on_its_own():
    torch.manual_seed(0)
    model = build("late_mean")
    x, y = batch(), torch.arange(6) % C
    uni = model.unimodal_logits(x)
    expected = (F.cross_entropy(uni["image"], y) + F.cross_entropy(uni["audio"], y)) / 2
    assert torch.allclose(model.loss(x, y), expected)


def test_unimodal_classifier_reads_its_modality_from_a_shared_dict():
    torch.manual_seed(0)
    clf = UnimodalClassifier(ImageEncoder(1, 12, channels=(4,)), C, modality="image").eval()
    x = batch()
    assert torch.equal(clf(x), clf({"image": x["image"]}))
    assert clf(x).shape == (6, C)
    with pytest.raises(KeyError, match="'image'"):
        clf({"audio": x["audio"]})
    anonymous = UnimodalClassifier(AudioEncoder(13, 8, channels=(4,)), C)
    assert anonymous({"audio": x["audio"]}).shape == (6, C)
    with pytest.raises(ValueError, match="one input"):
        anonymous(x)


# ---------------------------------------------------------------- tensor and low-rank fusion


def test_outer_product_matches_einsum():
    a, b, c = torch.randn(3, 2), torch.randn(3, 4), torch.randn(3, 5)
    assert torch.allclose(outer_product([a, b, c]), torch.einsum("bi,bj,bk->bijk", a, b, c).reshape(3, -1))


def test_tensor_fused_dim_formula():
    assert build("tensor", proj_dim=3).fused_dim == 4 * 4
    assert build("tensor", proj_dim=None).fused_dim == (12 + 1) * (10 + 1)
    three = TensorFusion({m: MLPEncoder(2, 5) for m in "abc"}, 2, proj_dim=None)
    assert three.fused_dim == 6**3 and three.fusion.in_features == 216
    z = three.augmented({m: torch.randn(4, 2) for m in "abc"})
    assert [v.shape for v in z] == [(4, 6)] * 3 and torch.equal(z[0][:, -1], torch.ones(4))


def test_low_rank_equals_tensor_fusion_with_the_rebuilt_full_weight():
    torch.manual_seed(0)
    encs = {m: MLPEncoder(3, 5) for m in "abc"}
    low = LowRankFusion(encs, 3, rank=2, proj_dim=4, hidden=6).eval()
    full = TensorFusion(encs, 3, proj_dim=4, hidden=6).eval()  # same encoders
    full.projections.load_state_dict(low.projections.state_dict())
    full.head.load_state_dict(low.head.state_dict())
    with torch.no_grad():
        full.fusion.weight.copy_(low.full_weight())
        full.fusion.bias.copy_(low.bias)
    x = {m: torch.randn(7, 3) for m in "abc"}
    assert torch.allclose(low(x), full(x), atol=1e-5)
    assert sum(p.numel() for p in low.factors.parameters()) < full.fusion.weight.numel()


def test_low_rank_full_weight_has_at_most_rank_r():
    torch.manual_seed(0)
    model = build("low_rank", rank=3, proj_dim=6, hidden=5)
    w = model.full_weight().detach().view(5, 7, 7)  # per hidden unit: a (image, audio) matrix
    assert (torch.linalg.matrix_rank(w) <= 3).all()
    assert (torch.linalg.matrix_rank(w) == 3).all()  # random factors: exactly r


# ---------------------------------------------------------------- attention over tokens


def test_attention_over_word_and_image_tokens_respects_padding():
    torch.manual_seed(0)
    encs = {"image": ImageEncoder(1, 12, channels=(4, 8)), "text": TextEncoder(20, out_dim=8)}
    model = AttentionFusion(encs, C, d_model=8, num_heads=2, tokens=True).eval()
    img = torch.rand(2, 1, 8, 8)
    text = torch.tensor([[3, 4, 0, 0], [5, 6, 7, 8]])
    out = model({"image": img, "text": text})
    assert out.shape == (2, C)
    n_img = 4 * 4  # 8x8 -> 8x8 -> 4x4 cells
    assert model.last_attention.shape == (2, n_img + 4, n_img + 4)
    assert torch.equal(model.last_attention[0, :, n_img + 2 :], torch.zeros(n_img + 4, 2))
    assert model.token_owners == ["image"] * n_img + ["text"] * 4
    short = model({"image": img[:1], "text": text[:1, :2]})  # same sentence without the padding
    assert torch.allclose(short, out[:1], atol=1e-5)


def test_attention_tokens_needs_token_encoders():
    class Plain(torch.nn.Module):
        out_dim = 3

    with pytest.raises(TypeError, match="tokens"):
        AttentionFusion({"x": Plain()}, 2, tokens=True)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_bad_inputs_raise_clear_errors(method):
    model = build(method)
    x = batch()
    with pytest.raises(KeyError, match="unknown modality"):
        model({**x, "video": x["audio"]})
    with pytest.raises(ValueError, match="batch sizes differ"):
        model({"image": x["image"], "audio": x["audio"][:5]})
    nan = x["audio"].clone()
    nan[2, 3, 4] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model({"image": x["image"], "audio": nan})
    with pytest.raises(ValueError, match="empty batch"):
        model({"image": x["image"][:0], "audio": x["audio"][:0]})
    with pytest.raises(ValueError, match="4 dimensions|per-sample shape"):
        model({"image": x["image"][:, 0], "audio": x["audio"]})
    with pytest.raises(TypeError, match="dict"):
        model(x["image"])


def test_early_rejects_token_ids_and_bad_shapes():
    model = make_fusion_model("early", {"text": 5, "audio": (13, 10)}, C)
    with pytest.raises(TypeError, match="modality 'text' has dtype torch.int64"):
        model({"text": torch.ones(2, 5, dtype=torch.long), "audio": torch.randn(2, 13, 10)})
    with pytest.raises(ValueError, match=r"input_shapes\['audio'\] must be positive integers"):
        make_fusion_model("early", {"image": (1, 8, 8), "audio": (13, 0)}, C)


def test_encoders_must_have_out_dim():
    with pytest.raises(ValueError, match="'image' needs a positive integer out_dim"):
        make_fusion_model("intermediate", {"image": torch.nn.Linear(3, 3)}, C)
    with pytest.raises(TypeError, match="non-empty dict"):
        make_fusion_model("gated", {}, C)
    with pytest.raises(ValueError, match="num_classes"):
        make_fusion_model("intermediate", encoders(), 0)


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_float64_inputs_as_numpy_gives_them_work_and_match_float32(method):
    """NumPy arrays are float64; every method accepts them and answers as for float32."""
    torch.manual_seed(0)
    model = build(method).eval()
    x = batch()
    with torch.no_grad():
        expected = model(x)
        got = model({k: v.double() for k, v in x.items()})
    assert got.dtype == torch.float32 and torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_a_training_run_whose_last_batch_has_one_row_works_for_every_method(method):
    """9 samples in batches of 4 leave a batch of one, which BatchNorm cannot normalise: fit skips it."""
    from mmlearn.data.base import MultimodalDataset
    from mmlearn.training import train_classifier

    torch.manual_seed(0)
    data = MultimodalDataset(batch(9), torch.arange(9) % C)
    history = train_classifier(build(method), data, epochs=1, lr=0.01, batch_size=4, progress=False)
    assert len(history) == 1
