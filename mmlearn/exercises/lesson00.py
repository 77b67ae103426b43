"""Exercises of lesson 00 (getting started): two small functions that go
through the whole exercise pipeline: write, check, read the verdict and the
stepped hints, and hand the result to the lesson with ``use``.

Taught in lesson 00 (section 5, "Exercises"). 00.0 is the lesson's worked
example: the lesson itself checks a wrong first try, asks for a hint and then
checks a corrected version, so the student's own exercises (00.1, 00.2) start
with no hint used. 00.1 and 00.2 have a ``reference``, so the lesson's later
cells run on the student's function once it passes and on the reference until
then.
"""

import torch

from mmlearn.exercises.checker import ExerciseFailure, exercise, expect_close, expect_raises


def unit_rows_reference(x: torch.Tensor) -> torch.Tensor:
    """Scale each row (sample) of x to Euclidean length 1."""
    return x / x.norm(dim=1, keepdim=True)


@exercise(
    "00.0",
    "unit-length rows, a worked example",
    (
        "Each sample (row) gets its own length, the square root of the sum of its squared entries: "
        "which dimension do you reduce over, and what shape must the lengths have to divide an (N, d) "
        "tensor row by row?",
        "Tensor.norm takes a dimension and a keepdim argument; the lengths must come out as an (N, 1) "
        "column so that broadcasting divides each row by its own length.",
    ),
    reference=unit_rows_reference,
)
def check_unit_rows(student):
    gen = torch.Generator().manual_seed(2)
    for shape in [(4, 3), (6, 10)]:
        x = torch.randn(shape, generator=gen) + 0.5
        expected = unit_rows_reference(x)  # before the student runs, who gets a copy
        expect_close(student(x.clone()), expected, f"unit_rows(x) for x of shape {shape}")


def standardise_reference(x: torch.Tensor) -> torch.Tensor:
    """z-score each feature column: mean 0, (population) standard deviation 1."""
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)


@exercise(
    "00.1",
    "standardise features",
    (
        "Each column j gets its own mean and its own spread, computed over the N samples (the rows): "
        "which dimension do you reduce over? The result keeps the input's shape (N, d).",
        "Tensor.mean and Tensor.std (mind its default) over dimension 0 give one value per column; "
        "broadcasting then subtracts and divides them row by row.",
        "The formula divides by N, not N - 1: torch's std divides by N - 1 unless you ask for the "
        "population version (unbiased=False, or correction=0).",
    ),
    reference=standardise_reference,
)
def check_standardise(student):
    gen = torch.Generator().manual_seed(0)
    for shape in [(8, 3), (50, 1), (5, 7)]:
        x = torch.randn(shape, generator=gen) * 3 + 2
        expected = standardise_reference(x)  # before the student runs, who gets a copy
        result = student(x.clone())
        sample_std = (x - x.mean(dim=0)) / x.std(dim=0)  # the N - 1 version: a common slip
        if (
            isinstance(result, torch.Tensor)
            and result.shape == x.shape
            and torch.allclose(result, sample_std)
        ):
            raise ExerciseFailure(
                f"standardise(x) for x of shape {shape} divides by the sample standard deviation (N - 1); "
                "the formula above divides by N"
            )
        expect_close(result, expected, f"standardise(x) for x of shape {shape}")


def concat_modalities_reference(image: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Flatten both modalities per sample and concatenate: (N, ...) + (N, ...) -> (N, d1 + d2)."""
    if image.shape[0] != audio.shape[0]:
        raise ValueError(f"batch sizes differ: image {image.shape[0]}, audio {audio.shape[0]}")
    return torch.cat([image.flatten(1), audio.flatten(1)], dim=1)


@exercise(
    "00.2",
    "concatenate two modalities",
    (
        "Two things: first make sure both tensors describe the same N samples (what should happen "
        "when they do not?), then turn each sample's image and audio into one long vector.",
        "Which Tensor method flattens everything after the first axis (look at its start_dim argument), "
        "and which torch function joins tensors along a dimension you choose? Compare the batch sizes "
        "before anything else, and make the error message name both.",
    ),
    reference=concat_modalities_reference,
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
