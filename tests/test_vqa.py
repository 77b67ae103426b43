"""The VQA models, their per-type evaluation, the training command and its checkpoints (lesson 07)."""

import pytest
import torch

from mmlearn.checkpoints import save_checkpoint
from mmlearn.data.download import ChecksumError
from mmlearn.data.scene_questions import QUESTION_TYPES, sort_of_clevr
from mmlearn.train import main as train_main
from mmlearn.train import sha256_of
from mmlearn.vqa import N_ANSWERS, RelationNetwork, make_vqa_model
from mmlearn.vqa_training import accuracy_by_type, evaluate_vqa, load_vqa_checkpoint, train_vqa, vqa_step


@pytest.fixture(scope="module")
def scenes():
    return sort_of_clevr(12, seed=3)


def batch(data, n=3):
    return {"image": data.modalities["image"][:n], "question": data.modalities["question"][:n]}


@pytest.mark.parametrize("kind", ["mlp", "rn", "xattn"])
def test_every_model_answers_every_question_of_a_scene(kind, scenes):
    torch.manual_seed(0)
    model = make_vqa_model(kind, **({"dim": 16} if kind == "xattn" else {"hidden": 16}))
    logits = model(batch(scenes))
    assert logits.shape == (3, 20, N_ANSWERS)
    # The same call with positional arguments gives the same answers.
    model.eval()
    x = batch(scenes)
    assert torch.equal(model(x), model(x["image"], x["question"]))


def test_decomposed_first_layer_equals_the_concatenated_pairs(scenes):
    torch.manual_seed(1)
    fast = RelationNetwork(hidden=32, decomposed=True)
    slow = RelationNetwork(hidden=32, decomposed=False)
    slow.load_state_dict(fast.state_dict())
    objects = torch.randn(2, 25, 26)
    questions = torch.rand(2, 5, 11)
    a, b = fast.first_layer(objects, questions), slow.first_layer(objects, questions)
    assert a.shape == (2, 5, 25, 25, 32)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    fast.eval()
    slow.eval()
    torch.testing.assert_close(fast(batch(scenes)), slow(batch(scenes)), atol=1e-5, rtol=1e-5)


def test_the_rn_answer_does_not_depend_on_the_order_of_the_regions():
    torch.manual_seed(2)
    rn = RelationNetwork(hidden=16).eval()
    objects, questions = torch.randn(1, 25, 26), torch.rand(1, 4, 11)
    shuffled = objects[:, torch.randperm(25)]
    torch.testing.assert_close(rn.answer(objects, questions), rn.answer(shuffled, questions))


def test_accuracy_by_type_on_a_hand_counted_case():
    # Two scenes, three questions each. Types: shape, closest, count / horizontal, furthest, count.
    qtype = torch.tensor([[0, 3, 5], [1, 4, 5]])
    answers = torch.tensor([[0, 1, 7], [3, 2, 9]])
    predicted = torch.tensor([[0, 0, 7], [4, 2, 8]])  # right: shape, count(1st); furthest
    acc = accuracy_by_type(predicted, answers, qtype)
    assert acc["shape"] == 1.0 and acc["horizontal"] == 0.0
    assert acc["closest"] == 0.0 and acc["furthest"] == 1.0 and acc["count"] == 0.5
    assert acc["vertical"] != acc["vertical"]  # no vertical question: NaN, not a made-up 0
    assert acc["non_relational"] == 0.5  # 1 of the 2 non-relational questions
    assert acc["relational"] == 0.5  # 2 of the 4 relational ones
    assert acc["all"] == 0.5
    with pytest.raises(ValueError, match="one shape"):
        accuracy_by_type(predicted[:1], answers, qtype)


def test_evaluate_matches_the_step_accuracy(scenes):
    torch.manual_seed(3)
    model = make_vqa_model("mlp", hidden=8).eval()
    acc = evaluate_vqa(model, scenes)
    assert set(QUESTION_TYPES) <= set(acc)
    step = vqa_step(model)
    with torch.no_grad():
        out = step({k: v for k, v in scenes.modalities.items()}, scenes.labels)
    assert acc["all"] == pytest.approx(out["accuracy"].item())


def test_training_lowers_the_loss(scenes):
    model = make_vqa_model("xattn", dim=16)
    history = train_vqa(model, scenes, scenes, epochs=4, lr=3e-3, batch_size=4, seed=0, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert "val_relational" in history


def test_bad_inputs_are_named(scenes):
    with pytest.raises(ValueError, match="kind"):
        make_vqa_model("transformer")
    model = make_vqa_model("mlp", hidden=8)
    x = batch(scenes)
    with pytest.raises(ValueError, match="questions"):
        model(x["image"], x["question"][:, :, :5])
    with pytest.raises(ValueError, match="questions has 2 scenes"):
        model(x["image"], x["question"][:2])
    with pytest.raises(KeyError, match="question"):
        model({"image": x["image"]})
    with pytest.raises(ValueError, match="g_layers"):
        RelationNetwork(g_layers=1)


def test_the_training_command_writes_a_model_its_loader_rebuilds(tmp_path):
    out = tmp_path / "vqa_mlp.pt"
    argv = ["vqa", "--model", "mlp", "--scenes", "16", "--epochs", "1", "--hidden", "8", "--out", str(out)]
    assert train_main(argv) == 0
    model, meta = load_vqa_checkpoint(out, sha256=sha256_of(out))
    assert meta["kind"] == "mlp" and meta["options"] == {"hidden": 8}
    assert meta["command"] == "python -m mmlearn.train " + " ".join(argv)
    assert set(QUESTION_TYPES) <= set(meta["metrics"]) and meta["seconds"] >= 0
    assert not model.training
    # The run's state was saved too, so an interrupted run can resume.
    assert (tmp_path / "vqa_mlp.run.pt").exists()


def test_the_loader_refuses_a_wrong_digest_and_a_pickle_with_code(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(
        path, {"kind": "mlp", "options": {"hidden": 8}, "model": make_vqa_model("mlp", hidden=8).state_dict()}
    )
    with pytest.raises(ChecksumError):
        load_vqa_checkpoint(path, sha256="0" * 64)
    evil = tmp_path / "evil.pt"
    torch.save({"kind": "mlp", "options": {}, "model": {}, "payload": print}, evil)  # a pickled callable
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        load_vqa_checkpoint(evil)
    not_vqa = tmp_path / "other.pt"
    save_checkpoint(not_vqa, {"weights": torch.zeros(2)})
    with pytest.raises(ValueError, match="not a VQA checkpoint"):
        load_vqa_checkpoint(not_vqa)
