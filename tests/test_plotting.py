"""Every plot returns a Figure with the panels and lines it promises (headless, Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mmlearn import plotting  # noqa: E402
from mmlearn.training import History  # noqa: E402


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    """No plot may call plt.show(); close whatever a test opened."""

    def refuse():
        raise AssertionError("plotting functions must return the Figure, not call plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    with matplotlib.rc_context():
        yield
    plt.close("all")


def _history(with_val=True):
    figures = {"train_loss": [1.0, 0.6, 0.4], "train_accuracy": [0.5, 0.7, 0.8]}
    if with_val:
        figures["val_accuracy"] = [0.5, 0.6, 0.7]
    return History(figures)


def test_use_course_style_sets_readable_defaults():
    plotting.use_course_style()
    assert matplotlib.rcParams["font.size"] == 11
    assert matplotlib.rcParams["axes.spines.top"] is False


def test_learning_curves_one_and_several_histories():
    fig = plotting.plot_learning_curves(_history())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 1 and len(acc_ax.lines) == 2
    assert acc_ax.lines[0].get_linestyle() == "--"  # training accuracy dashed
    assert [line.get_label() for line in acc_ax.lines] == ["train accuracy", "val accuracy"]
    named = History({"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "val_recall_at_1": [0.2, 0.4]})
    loss_ax, score_ax = plotting.plot_learning_curves(named).axes
    assert len(loss_ax.lines) == 2 and [line.get_label() for line in score_ax.lines] == ["val recall at 1"]
    fig = plotting.plot_learning_curves({"early": _history(), "late": _history(with_val=False).to_dict()})
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 3
    _, axes = plt.subplots(1, 2)
    assert plotting.plot_learning_curves(_history(), axes=axes) is axes[0].figure
    with pytest.raises(TypeError, match="History"):
        plotting.plot_learning_curves({})
    with pytest.raises(ValueError, match="pair"):
        plotting.plot_learning_curves(_history(), axes=plt.subplots(1, 3)[1])
    with pytest.raises(ValueError, match="train_loss"):
        plotting.plot_learning_curves({"bad": {"train_loss": []}})


def test_confusion_matrix():
    fig = plotting.plot_confusion_matrix(np.array([[5, 1, 0], [2, 3, 1], [0, 0, 6]]), ["a", "b", "c"])
    assert len(fig.axes) == 1
    assert len([t for t in fig.axes[0].texts if t.get_text()]) == 9
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    _, ax = plt.subplots()
    assert plotting.plot_confusion_matrix(torch.eye(2), ax=ax) is ax.figure
    with pytest.raises(ValueError, match="square"):
        plotting.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="class names"):
        plotting.plot_confusion_matrix(np.eye(3), ["a", "b"])


def test_reliability_diagram():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.55, 0.45]])
    fig = plotting.plot_reliability_diagram(probs, [0, 1, 1, 0], n_bins=5)
    ax = fig.axes[0]
    assert len(ax.patches) == 3  # bins (0.6, 0.8], (0.8, 1] and (0.4, 0.6] hold samples
    assert "ECE" in ax.get_title()


def _paired_features(n=30):
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    image = torch.randn(n, 6, generator=gen) + labels[:, None]
    text = image + 0.1 * torch.randn(n, 6, generator=gen)
    return {"image": image, "text": text}, labels


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embedding_colours_by_label_and_marks_modalities(method):
    features, labels = _paired_features()
    fig = plotting.plot_embedding(
        features, labels, method=method, connect_pairs=True, class_names=["x", "y", "z"]
    )
    ax = fig.axes[0]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(s.get_offsets()) for s in scatters] == [30, 30]
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines) == 1 and len(lines[0].get_segments()) == 30
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y", "z", "image", "text"]


def test_embedding_from_array_and_bad_inputs():
    features, labels = _paired_features()
    fig = plotting.plot_embedding(features["image"].numpy(), labels.numpy())
    assert len(fig.axes[0].collections) == 1
    with pytest.raises(ValueError, match="'pca' or 'tsne'"):
        plotting.plot_embedding(features, labels, method="umap")
    with pytest.raises(ValueError, match="same D"):
        plotting.plot_embedding({"image": torch.zeros(4, 3), "text": torch.zeros(4, 2)})
    with pytest.raises(ValueError, match="labels"):
        plotting.plot_embedding(features, labels[:10])
    with pytest.raises(ValueError, match="two modalities"):
        plotting.plot_embedding({"a": torch.zeros(4, 3)}, connect_pairs=True)


def test_retrieval_grid_of_images_and_of_captions():
    gen = torch.Generator().manual_seed(0)
    queries = torch.rand(3, 1, 8, 8, generator=gen)
    results = torch.rand(3, 4, 1, 8, 8, generator=gen)
    correct = np.zeros((3, 4), dtype=bool)
    correct[:, 0] = True
    fig = plotting.plot_retrieval_grid(queries, results, correct=correct)
    assert len(fig.axes) == 3 * 5
    hit, miss = fig.axes[1], fig.axes[2]
    assert hit.spines["left"].get_edgecolor()[:3] == matplotlib.colors.to_rgb("green")
    assert miss.spines["left"].get_edgecolor()[:3] == matplotlib.colors.to_rgb("red")
    captions = [["a red square", "a blue circle"]] * 3
    fig = plotting.plot_retrieval_grid(queries, captions, query_titles=["q1", "q2", "q3"])
    assert len(fig.axes) == 3 * 2
    assert "1. a red square" in [t.get_text() for t in fig.axes[1].texts]
    fig = plotting.plot_retrieval_grid(["a red square"], results[:1])
    assert len(fig.axes) == 5 and fig.axes[0].texts[0].get_text() == "a red square"
    with pytest.raises(ValueError, match="3 queries"):
        plotting.plot_retrieval_grid(queries, results[:2])
    with pytest.raises(ValueError, match="correct"):
        plotting.plot_retrieval_grid(queries, results, correct=correct[:, :2])


def test_robustness_curves():
    levels = np.linspace(0, 1, 11)
    curves = {"early": 1 - 0.5 * levels, "late": torch.full((11,), 0.7)}
    fig = plotting.plot_robustness_curves(levels, curves, chance=0.1)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["early", "late", "chance"]
    with pytest.raises(ValueError, match="levels"):
        plotting.plot_robustness_curves(levels, {"early": [1.0, 0.5]})
    with pytest.raises(TypeError, match="dict"):
        plotting.plot_robustness_curves(levels, [1.0] * 11)


def test_robustness_curves_keep_coinciding_curves_apart_and_draw_references():
    levels = np.linspace(0, 1, 11)
    same = 1 - 0.5 * levels
    curves = {"mean": same, "vote": same}
    fig = plotting.plot_robustness_curves(levels, curves, references={"image only": 0.66})
    ax = fig.axes[0]
    mean, vote, image = ax.lines
    assert (mean.get_marker(), mean.get_linestyle()) != (vote.get_marker(), vote.get_linestyle())
    assert list(image.get_ydata()) == [0.66, 0.66] and image.get_linestyle() == "--"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mean", "vote", "image only"]
    with pytest.raises(TypeError, match="references"):
        plotting.plot_robustness_curves(levels, {"mean": same}, references=[0.66])


def test_image_grid_layouts_and_image_formats():
    gen = torch.Generator().manual_seed(0)
    fig = plotting.show_image_grid(torch.rand(10, 3, 8, 8, generator=gen), ncols=4)
    assert len(fig.axes) == 12
    assert [ax.axison for ax in fig.axes].count(False) == 2  # the unused cells
    hwc_uint8 = np.full((2, 8, 8, 3), 255, dtype=np.uint8)
    fig = plotting.show_image_grid(hwc_uint8, titles=["one", "two"])
    assert fig.axes[1].get_title() == "two"
    assert np.allclose(fig.axes[0].images[0].get_array(), 1.0)
    normalised = torch.linspace(-2, 2, 64).reshape(1, 1, 8, 8)  # outside [0, 1]: stretched for display
    shown = plotting.show_image_grid(normalised).axes[0].images[0].get_array()
    assert shown.min() == 0.0 and shown.max() == 1.0
    with pytest.raises(ValueError, match="titles"):
        plotting.show_image_grid(hwc_uint8, titles=["one"])
    with pytest.raises(ValueError, match="C = 1 or 3"):
        plotting.show_image_grid(torch.rand(2, 2, 8, 8))
    with pytest.raises(ValueError, match="empty"):
        plotting.show_image_grid([])
    with pytest.raises(ValueError, match="ncols"):
        plotting.show_image_grid(hwc_uint8, ncols=0)


def test_attack_curves_mark_chance_and_training_epsilon():
    eps = [0.0, 0.1, 0.3]
    fig = plotting.plot_attack_curves(
        eps, {"standard": [0.8, 0.3, 0.0], "adversarial": [0.8, 0.7, 0.5]},
        train_epsilon=0.3, chance=0.1, unit="MFCC units, standardised",
    )  # fmt: skip
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["standard", "adversarial", "chance (0.1)", "training epsilon (0.3)"]
    assert ax.get_xlabel() == "epsilon (MFCC units, standardised)" and ax.get_title()
    with pytest.raises(ValueError, match="epsilons"):
        plotting.plot_attack_curves(eps, {"standard": [0.8, 0.3]})
    with pytest.raises(TypeError, match="dict"):
        plotting.plot_attack_curves(eps, [0.8, 0.3, 0.0])
    plt.close(fig)
