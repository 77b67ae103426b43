"""Saving and loading trained weights safely: one save, one load, for every lesson.

Used by ``mmlearn.training.fit`` (lessons 02 and 04 train through it) to
resume an interrupted run, and by every lesson that ships a trained model
(lessons 07 and 11, planned).

Two dangers, two rules:

* A crash while writing must never leave half a file where a good checkpoint
  was: ``save_checkpoint`` writes to a temporary file beside the target and
  renames it into place (a rename is atomic on one filesystem).
* ``torch.load`` of an untrusted file can run arbitrary code through pickle.
  ``load_checkpoint`` always passes ``weights_only=True``, which accepts
  tensors, numbers, strings, lists and dicts and nothing executable, and
  checks the file's SHA-256 first when a digest is given (a shipped
  checkpoint always comes with one).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from mmlearn.data.download import verify_sha256
from mmlearn.report import atomic_file
from mmlearn.validation import check_path

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(path: str | os.PathLike, state: Mapping) -> Path:
    """Write ``state`` (a dict of tensors, state dicts, numbers, lists) to ``path`` atomically.

    Returns the path. The parent folder is created if needed. Anything that
    ``torch.load(weights_only=True)`` could not read back (a module, a
    function) is refused here, before anything is written.
    """
    if not isinstance(state, Mapping):
        raise TypeError(
            f"state must be a dict (e.g. {{'model': model.state_dict()}}), got {type(state).__name__}"
        )
    path = Path(check_path(path))
    if path.is_dir():
        raise IsADirectoryError(f"path {str(path)!r} is a folder; give a file name such as 'model.pt'")
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    try:
        torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)  # refuse now what a load would refuse
    except Exception as err:
        raise TypeError(
            f"state holds something a weights-only load cannot read back ({err}); "
            "save state dicts, tensors, numbers, strings, lists and dicts only"
        ) from err
    with atomic_file(path, binary=True) as f:
        f.write(buffer.getvalue())
    return path


def load_checkpoint(
    path: str | os.PathLike, *, sha256: str | None = None, map_location: str | torch.device = "cpu"
) -> dict:
    """Read a checkpoint written by ``save_checkpoint`` (or any weights-only file).

    ``sha256``: the expected hex digest; a file that differs raises
    ``ChecksumError`` before torch reads a byte of it.
    """
    path = Path(check_path(path))
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    if sha256 is not None:
        verify_sha256(path, sha256)  # ChecksumError before torch reads a byte of it
    try:
        state = torch.load(path, weights_only=True, map_location=map_location)
    except Exception as err:
        raise ValueError(f"checkpoint {path.name} could not be read as a weights-only file: {err}") from err
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path.name} holds a {type(state).__name__}, expected a dict")
    return state
