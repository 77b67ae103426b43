"""Exercises of lesson 00 (getting started): two small functions that go
through the whole exercise pipeline: write, check, see the verdict."""

import torch

from mmlearn.exercises.checker import exercise, expect_close, expect_raises


def standardise_reference(x: torch.Tensor) -> torch.Tensor:
    """z-score each feature column: mean 0, (population) standard deviation 1."""
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)


@exercise(
    "00.1",
    "standardise features",
    "subtract the column mean and divide by the column std "
    "(x.mean(dim=0), x.std(dim=0, unbiased=False)); the result keeps the input's shape.",
)
def check_standardise(student):
    gen = torch.Generator().manual_seed(0)
    for shape in [(8, 3), (50, 1), (5, 7)]:
        x = torch.randn(shape, generator=gen) * 3 + 2
        expected = standardise_reference(x)  # before the student runs, who gets a copy
        expect_close(student(x.clone()), expected, f"standardise(x) for x of shape {shape}")


def concat_modalities_reference(image: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    if image.shape[0] != audio.shape[0]:
        raise ValueError(f"batch sizes differ: image {image.shape[0]}, audio {audio.shape[0]}")
    return torch.cat([image.flatten(1), audio.flatten(1)], dim=1)


@exercise(
    "00.2",
    "concatenate two modalities",
    "flatten each tensor after the batch dimension "
    "(x.flatten(1)), torch.cat along dim=1, and raise ValueError first if the batch sizes differ.",
)
def check_concat(student):
    gen = torch.Generator().manual_seed(1)
    image, audio = torch.rand(4, 1, 8, 8, generator=gen), torch.rand(4, 13, 5, generator=gen)
    expected = concat_modalities_reference(image, audio)  # before the student runs, who gets copies
    expect_close(student(image.clone(), audio.clone()), expected, "the fused features")
    expect_raises(
        lambda: student(torch.rand(4, 1, 8, 8), torch.rand(3, 13, 5)),
        ValueError,
        "mismatched batch sizes (4 images, 3 clips)",
    )
