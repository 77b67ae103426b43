"""The training loops on tiny synthetic problems: they learn, repeat per seed, and restore modes."""

import pytest
import torch
from torch import nn

from mmlearn.data.base import MultimodalDataset
from mmlearn.inference import cross_modal_similarity, embed, eval_mode, evaluate, predict_proba
from mmlearn.losses import ClipLoss
from mmlearn.training import History, train_classifier, train_contrastive


class TwoModalityNet(nn.Module):
    """Concatenate two modalities, dropout, linear classifier."""

    def __init__(self):
        super().__init__()
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(4 + 3, 2)

    def forward(self, inputs):
        return self.head(self.dropout(torch.cat([inputs["a"], inputs["b"]], dim=1)))


def _dataset(n=200, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, 4, generator=gen), torch.randn(n, 3, generator=gen)
    labels = (a[:, 0] + b[:, 0] > 0).long()  # needs both modalities
    return MultimodalDataset({"a": a, "b": b}, labels)


def _train(seed=0, **kwargs):
    torch.manual_seed(0)
    model = TwoModalityNet()
    train, val = _dataset(200, 0), _dataset(100, 1)
    options = {"epochs": 15, "lr": 0.05, "batch_size": 32, "seed": seed, "progress": False} | kwargs
    return model, train_classifier(model, train, val, **options), val


def test_train_classifier_learns_and_records_history():
    model, history, val = _train()
    assert len(history) == 15 and len(history["train_accuracy"]) == 15 and len(history["val_accuracy"]) == 15
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history.final["val_accuracy"] > 0.9
    assert history.final["val_accuracy"] == pytest.approx(evaluate(model, val))
    assert history.best["val_accuracy"] == max(history["val_accuracy"])
    assert history.final["epoch"] == 14
    assert set(history.to_dict()) == {"train_loss", "train_accuracy", "val_accuracy", "lr"}
    assert history.lr == [0.05] * 15  # the default schedule keeps the rate constant
    assert model.training  # left in train mode


def test_train_classifier_is_deterministic_per_seed():
    model_a, history_a, _ = _train(seed=3, epochs=4)
    model_b, history_b, _ = _train(seed=3, epochs=4)
    _, history_c, _ = _train(seed=4, epochs=4)
    assert history_a == history_b
    assert torch.equal(model_a.head.weight, model_b.head.weight)
    assert history_a["train_loss"] != history_c["train_loss"]


def test_onecycle_schedule_warms_up_then_decays():
    model, history, _ = _train(epochs=10, lr_schedule="onecycle")
    peak = max(range(10), key=lambda e: history.lr[e])
    assert peak == 0  # 10% warm-up: 7 batches per epoch x 10 epochs -> the peak falls in the first epoch
    assert history.lr[0] == pytest.approx(0.05, rel=0.05)
    assert all(a > b for a, b in zip(history.lr[:-1], history.lr[1:], strict=True))  # then a steady decay ...
    assert history.lr[-1] < 1e-4  # ... to almost zero: the last batches take tiny steps
    assert history.final["val_accuracy"] > 0.9
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        _train(epochs=1, lr_schedule="cosine")


def test_transform_sees_each_training_batch_with_its_labels():
    calls = []

    def drop_b(inputs, labels):
        calls.append(len(labels))
        return {"a": inputs["a"], "b": torch.zeros_like(inputs["b"])}

    _, history, val = _train(epochs=3, transform=drop_b)
    assert sum(calls) == 3 * 200 and max(calls) == 32
    assert history.final["val_accuracy"] < 0.85  # without modality b the label cannot be learned fully


def test_history_without_validation():
    model = TwoModalityNet()
    history = train_classifier(model, _dataset(64), epochs=3, lr=0.01, batch_size=16, progress=False)
    assert "val_accuracy" not in history and "val_accuracy" not in history.final
    with pytest.raises(KeyError, match="train_accuracy"):
        _ = history["val_accuracy"]  # the message lists the figures it has
    assert history.best["train_loss"] == min(history["train_loss"])
    with pytest.raises(ValueError, match="empty"):
        _ = History().final


def test_evaluate_and_predict_proba_restore_the_mode():
    model, _, val = _train(epochs=3)
    model.train()
    probs = predict_proba(model, val, batch_size=7)
    assert model.training
    assert probs.shape == (100, 2) and torch.allclose(probs.sum(dim=1), torch.ones(100))
    assert (probs.argmax(dim=1) == val.labels).float().mean().item() == pytest.approx(evaluate(model, val))
    model.eval()
    evaluate(model, val)
    assert not model.training
    zeroed = evaluate(model, val, transform=lambda x, y: {k: torch.zeros_like(v) for k, v in x.items()})
    assert zeroed == pytest.approx(
        max(val.labels.float().mean().item(), 1 - val.labels.float().mean().item())
    )


def test_eval_mode_restores_on_error():
    model = TwoModalityNet()
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            assert not model.training
            raise RuntimeError("boom")
    assert model.training


def test_train_classifier_bad_inputs():
    model, data = TwoModalityNet(), _dataset(32)
    with pytest.raises(TypeError, match="MultimodalDataset"):
        train_classifier(model, [1, 2], epochs=1, lr=0.1, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train_classifier(model, data, epochs=0, lr=0.1, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="lr"):
        train_classifier(model, data, epochs=1, lr=-1.0, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train_classifier(model, data, epochs=1, lr=0.1, batch_size=0, progress=False)
    with pytest.raises(FloatingPointError, match="loss became nan"):
        train_classifier(
            model,
            data,
            epochs=1,
            lr=0.1,
            batch_size=8,
            progress=False,
            loss_fn=lambda z, y: z.sum() * float("nan"),
        )


class BagOfTokens(nn.Module):
    """Mean of token embeddings: a minimal text encoder."""

    def __init__(self, vocab, dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)

    def forward(self, ids):  # (B, L) -> (B, D)
        return self.embedding(ids).mean(dim=1)


def _pairs(concepts, seed):
    """Images are noisy prototypes of a concept; captions name the concept with two tokens."""
    gen = torch.Generator().manual_seed(100)
    prototypes = torch.randn(16, 12, generator=gen)
    noise = torch.randn(len(concepts), 12, generator=torch.Generator().manual_seed(seed))
    images = prototypes[concepts] + 0.3 * noise
    captions = torch.stack([concepts, concepts + 16], dim=1)  # (N, 2) token ids
    return MultimodalDataset({"image": images, "text": captions}, concepts)


def _train_contrastive(seed=0, epochs=20):
    torch.manual_seed(0)
    image_encoder, text_encoder, loss = nn.Linear(12, 8), BagOfTokens(32, 8), ClipLoss()
    train = _pairs(torch.arange(16).repeat(8), seed=1)  # 128 pairs
    val = _pairs(torch.arange(16), seed=2)  # one pair per concept: retrieval is well defined
    options = {"epochs": epochs, "lr": 0.05, "batch_size": 16, "seed": seed, "progress": False}
    history = train_contrastive(image_encoder, text_encoder, train, loss, val, **options)
    return history, image_encoder, text_encoder, loss, val


def test_train_contrastive_learns_retrieval():
    history, image_encoder, text_encoder, loss, val = _train_contrastive()
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert history.final["val_recall_at_1"] >= 0.9  # image -> text recall@1 over 16 candidates (chance 1/16)
    assert loss.logit_scale.item() != pytest.approx(1 / 0.07)  # the temperature was trained too
    first, *_ = _train_contrastive(epochs=3)
    again, *_ = _train_contrastive(epochs=3)
    assert again == first  # deterministic per seed
    features = embed(image_encoder, val.modalities["image"], batch_size=5)
    assert features.shape == (16, 8)
    assert torch.allclose(features, embed(image_encoder, val.modalities["image"], batch_size=100))


def test_cross_modal_similarity_is_the_cosine_of_the_two_embeddings():
    torch.manual_seed(0)
    image_encoder, text_encoder = nn.Sequential(nn.Linear(12, 8), nn.Dropout(0.5)), BagOfTokens(32, 8)
    images, texts = torch.randn(5, 12), torch.randint(0, 32, (7, 3))
    similarity = cross_modal_similarity(image_encoder, text_encoder, images, texts, batch_size=2)
    assert similarity.shape == (5, 7)  # N images x M texts
    with torch.no_grad():
        u = torch.nn.functional.normalize(image_encoder[0](images), dim=1)  # eval mode: no dropout
        v = torch.nn.functional.normalize(text_encoder(texts), dim=1)
    assert torch.allclose(similarity, u @ v.T, atol=1e-6)
    assert similarity.abs().max() <= 1 + 1e-6 and not similarity.requires_grad
    assert image_encoder.training  # the mode it was in is restored
    with pytest.raises(ValueError, match="embedding size"):
        cross_modal_similarity(nn.Linear(12, 4), text_encoder, images, texts)


def test_train_contrastive_onecycle_counts_its_steps():
    # 130 pairs in batches of 16: 8 full batches and a batch of 2; OneCycleLR raises if stepped too often
    image_encoder, text_encoder, loss = nn.Linear(12, 8), BagOfTokens(32, 8), ClipLoss()
    pairs = _pairs(torch.arange(16).repeat(9)[:130], seed=1)
    options = {"epochs": 3, "lr": 0.05, "batch_size": 16, "progress": False, "lr_schedule": "onecycle"}
    history = train_contrastive(image_encoder, text_encoder, pairs, loss, **options)
    assert history.lr[-1] < 1e-4
    # 129 pairs: the last batch holds a single pair and is skipped, so one step fewer per epoch
    pairs = _pairs(torch.arange(16).repeat(9)[:129], seed=1)
    history = train_contrastive(image_encoder, text_encoder, pairs, loss, **options)
    assert history.lr[-1] < 1e-4


def test_train_contrastive_bad_inputs():
    image_encoder, text_encoder, loss = nn.Linear(12, 8), BagOfTokens(32, 8), ClipLoss()
    pairs = _pairs(torch.arange(4), seed=0)
    with pytest.raises(KeyError, match="caption"):
        train_contrastive(
            image_encoder, text_encoder, pairs, loss, text_key="caption", epochs=1, lr=0.1, batch_size=4
        )
    with pytest.raises(ValueError, match="negatives"):
        train_contrastive(image_encoder, text_encoder, pairs, loss, epochs=1, lr=0.1, batch_size=1)
    with pytest.raises(TypeError, match="torch.Tensor"):
        embed(image_encoder, [1, 2, 3])


# --- fit: one loop for every kind of step ----------------------------------------------------------------


def test_fit_trains_a_sequence_model_with_its_own_step():
    """A toy next-token task: the step returns a loss and a figure of its own, as captioning will."""
    from mmlearn.training import fit

    torch.manual_seed(0)
    start = torch.randint(0, 6, (64, 1))
    tokens = (start + torch.arange(5)) % 6  # (N, L): each token is the previous one plus 1 (mod 6)
    data = MultimodalDataset({"tokens": tokens}, torch.zeros(64, dtype=torch.long))
    model = nn.Sequential(nn.Embedding(6, 16), nn.Linear(16, 6))

    def step(inputs, labels):
        x = inputs["tokens"]  # (B, L)
        logits = model(x[:, :-1])  # (B, L-1, V)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 6), x[:, 1:].reshape(-1))
        return {"loss": loss, "token_accuracy": (logits.argmax(-1) == x[:, 1:]).float().mean()}

    history = fit(
        model, data, step, epochs=30, lr=0.05, batch_size=16, progress=False, validate=lambda: {"copies": 1.0}
    )
    assert set(history.metrics) == {"train_loss", "train_token_accuracy", "val_copies"}
    assert history.final["train_token_accuracy"] == 1.0  # it learned the next-token rule
    assert history.best["epoch"] == 0  # every epoch ties on val_copies: the first is kept


def test_fit_skips_a_last_batch_of_one_row_so_batchnorm_trains():
    """9 rows in batches of 4 leave one row: BatchNorm cannot normalise it, the loop skips it."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 2))
    data = MultimodalDataset({"x": torch.randn(9, 3)}, torch.tensor([0, 1] * 4 + [0]))

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, inputs):
            return self.net(inputs["x"])

    history = train_classifier(Wrap(), data, epochs=2, lr=0.01, batch_size=4, progress=False)
    assert len(history) == 2


def test_train_classifier_names_bad_labels():
    model = TwoModalityNet()  # two outputs
    data = _dataset(32)
    with pytest.raises(ValueError, match=r"labels go up to 2.*\(B, 3\)"):
        train_classifier(
            model,
            MultimodalDataset(data.modalities, data.labels * 2),
            epochs=1,
            lr=0.1,
            batch_size=8,
            progress=False,
        )
    with pytest.raises(TypeError, match=r"train.labels must hold integer class indices \(int64\)"):
        train_classifier(
            model,
            MultimodalDataset(data.modalities, data.labels.float()),
            epochs=1,
            lr=0.1,
            batch_size=8,
            progress=False,
        )
    with pytest.raises(ValueError, match="val.labels must be class indices >= 0"):
        train_classifier(
            model,
            data,
            MultimodalDataset(data.modalities, data.labels - 1),
            epochs=1,
            lr=0.1,
            batch_size=8,
            progress=False,
        )


def test_an_interrupted_run_resumed_from_its_checkpoint_ends_where_an_uninterrupted_one_ends(tmp_path):
    options = {
        "epochs": 6,
        "lr": 0.05,
        "batch_size": 32,
        "seed": 1,
        "progress": False,
        "lr_schedule": "onecycle",
    }
    model_full, history_full, _ = _train(**options)

    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    model = TwoModalityNet()
    train, val = _dataset(200, 0), _dataset(100, 1)

    class Interrupt(Exception):
        pass

    def stop_in_epoch_four(inputs, labels, calls=[0]):  # noqa: B006  (counts batches across calls)
        calls[0] += 1
        if calls[0] > 3 * 7:  # 7 batches an epoch: the fourth epoch is cut short
            raise Interrupt
        return inputs

    with pytest.raises(Interrupt):
        train_classifier(model, train, val, checkpoint=path, transform=stop_in_epoch_four, **options)
    torch.manual_seed(123)  # the resumed run must not depend on what happened in between
    resumed_model = TwoModalityNet()
    history = train_classifier(resumed_model, train, val, checkpoint=path, resume=True, **options)
    assert history == history_full
    assert torch.equal(resumed_model.head.weight, model_full.head.weight)
    with pytest.raises(ValueError, match="another run"):
        train_classifier(
            TwoModalityNet(), train, val, checkpoint=path, resume=True, **(options | {"lr": 0.1})
        )
    with pytest.raises(ValueError, match="resume=True needs a checkpoint"):
        train_classifier(TwoModalityNet(), train, resume=True, **options)


def test_a_short_onecycle_run_warms_up_and_decays_and_a_tiny_one_keeps_its_rate():
    # 2 epochs x 5 batches = 10 steps: 10% would be a warm-up of one step, which OneCycleLR divides by
    _, history, _ = _train(epochs=2, lr_schedule="onecycle", batch_size=40)
    assert history.lr[-1] < 1e-3 and len(history) == 2
    _, history, _ = _train(epochs=1, lr_schedule="onecycle", batch_size=100)  # 2 steps: no cycle
    assert history.lr == [0.05]


def test_resume_refuses_a_checkpoint_of_another_schedule_or_weight_decay(tmp_path):
    path = tmp_path / "run.pt"
    options = {"epochs": 2, "lr": 0.05, "batch_size": 32, "progress": False, "checkpoint": path}
    _train(**options)  # constant schedule, saved after every epoch
    for changed in ({"lr_schedule": "onecycle"}, {"weight_decay": 0.01}):
        with pytest.raises(ValueError, match="another run"):
            _train(resume=True, **options, **changed)


def test_fit_names_a_bad_device_and_a_validate_that_returns_no_dict():
    from mmlearn.training import classification_step, fit

    model = TwoModalityNet()
    data = _dataset(16)
    with pytest.raises(ValueError, match="device 'gpu0'"):
        fit(model, data, classification_step(model), epochs=1, lr=0.1, batch_size=8, device="gpu0")
    with pytest.raises(TypeError, match="validate must return a dict"):
        fit(
            model,
            data,
            classification_step(model),
            epochs=1,
            lr=0.1,
            batch_size=8,
            progress=False,
            validate=lambda: 0.5,
        )
    with pytest.raises(ValueError, match=r"every batch of epoch 0 \(batch_size=8\)"):
        fit(model, data, lambda x, y: None, epochs=1, lr=0.1, batch_size=8, progress=False)
