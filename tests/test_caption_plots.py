"""The figures of lesson 06 draw what they are given and refuse mismatched input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mmlearn.caption_plots import plot_word_attention, show_captioned_scenes  # noqa: E402


def scenes(n):
    return torch.randint(
        0, 256, (n, 3, 30, 30), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )


def test_captions_are_written_under_their_scenes_with_right_or_wrong():
    fig = show_captioned_scenes(
        scenes(3), ["a red square.", "a blue circle.", "x"], [True, False, True], ncols=2
    )
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
    assert labels == ["right: a red square.", "wrong: a blue circle.", "right: x"]
    assert not fig.axes[3].axison  # the empty fourth panel is hidden
    plt.close(fig)
    with pytest.raises(ValueError, match="images has 3 images but captions has 2"):
        show_captioned_scenes(scenes(3), ["a", "b"])
    with pytest.raises(ValueError, match="right has 1"):
        show_captioned_scenes(scenes(2), ["a", "b"], [True])


def test_word_attention_draws_one_panel_per_word_over_the_cells():
    weights = torch.softmax(torch.randn(3, 16), dim=1)
    fig = plot_word_attention(scenes(1)[0], ["a", "red", "<eos>"], weights, stride=8, title="t")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["'a'", "'red'", "'<eos>'"]
    heat = fig.axes[0].images[1]
    assert heat.get_extent() == [-4.0, 28.0, 28.0, -4.0]  # cells centred on pixels 0, 8, 16, 24
    plt.close(fig)
    with pytest.raises(ValueError, match="words has 2 words but weights has 3 rows"):
        plot_word_attention(scenes(1)[0], ["a", "b"], weights)
    with pytest.raises(ValueError, match="square grid"):
        plot_word_attention(scenes(1)[0], ["a"], torch.ones(1, 15))
    with pytest.raises(ValueError, match="an image must be"):
        plot_word_attention(scenes(1), ["a"], torch.ones(1, 16))
