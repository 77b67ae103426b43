"""Flickr8k captions from a local copy, shaped like the course's scene captions.

A real-data alternative to the captioned scenes of lessons 03, 04 and 06; no lesson needs it.

Flickr8k (Hodosh et al. 2013) is the dataset the captioning lesson's
reference figures come from: about 8,000 Flickr photos with five captions
each. Its images are Flickr users' photos distributed under the dataset's own
terms of use, so the course does not download it; a student who has a copy
points this loader at it.

The real layout, as the widely used ``Flickr8k_Dataset.zip`` and
``Flickr8k_text.zip`` unpack, is::

    root/Flicker8k_Dataset/<id>.jpg              (the archive spells it "Flicker")
    root/Flickr8k_text/Flickr8k.token.txt        lines "<id>.jpg#<k>\\t<caption>", k = 0..4
    root/Flickr8k_text/Flickr_8k.{train,dev,test}Images.txt   one image name per line

Like every real-data loader, ``load_flickr8k(root, split, ...)`` takes the
course's split names: ``val`` reads Flickr8k's ``dev`` list.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.real._common import check_split, data_root
from mmlearn.validation import check_positive_int

OFFLINE_HINT = "the offline scene captions of the course (mmlearn.data.scene_captions.scene_captions)"
TOKEN_FILE = "Flickr8k.token.txt"
SPLIT_FILES = {  # the course's split names -> Flickr8k's split lists
    "train": "Flickr_8k.trainImages.txt",
    "val": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}
_TEXT_DIRS = (".", "Flickr8k_text")
_IMAGE_DIRS = ("Flicker8k_Dataset", "Flickr8k_Dataset", "Images")


def read_flickr8k_captions(token_file: str | Path) -> dict[str, list[str]]:
    """Parse ``Flickr8k.token.txt`` into ``{image name: [caption 0, caption 1, ...]}``.

    Images keep the order of their first appearance; captions are ordered by
    their ``#k`` index. A malformed line raises ``ValueError`` naming it.
    """
    token_file = Path(token_file)
    if not token_file.is_file():
        raise FileNotFoundError(f"no Flickr8k token file at {token_file}")
    numbered: dict[str, dict[int, str]] = {}
    for line_no, line in enumerate(token_file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        name, hash_sign, k = key.rpartition("#")
        if not tab or not hash_sign or not name or not k.isdigit() or not caption.strip():
            raise ValueError(
                f"{token_file.name} line {line_no} is not '<image>.jpg#<k>\\t<caption>': {line!r}"
            )
        captions = numbered.setdefault(name, {})
        if int(k) in captions:
            raise ValueError(f"{token_file.name} line {line_no}: caption #{k} of {name} appears twice")
        captions[int(k)] = caption.strip()
    if not numbered:
        raise ValueError(f"{token_file.name} holds no captions")
    return {name: [caps[k] for k in sorted(caps)] for name, caps in numbered.items()}


def _find(root: Path, candidates, what: str, is_dir: bool) -> Path:
    for candidate in candidates:
        path = root / candidate
        if path.is_dir() if is_dir else path.is_file():
            return path
    raise FileNotFoundError(
        f"no Flickr8k {what} under {root} (looked for {', '.join(str(root / c) for c in candidates)}). "
        "The course does not download Flickr8k (its photos come under the dataset's own terms of use): "
        f"unpack your copy there, or use {OFFLINE_HINT}, which needs no download."
    )


def _load_image(path: Path, size: int) -> np.ndarray:
    """One photo, centre-cropped to a square and resized: (size, size, 3) uint8."""
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        square = ImageOps.fit(img.convert("RGB"), (size, size), method=Image.Resampling.BICUBIC)
    return np.asarray(square, dtype=np.uint8)


def load_flickr8k(
    root: str | Path | None = None,
    split: str = "train",
    *,
    download: bool = False,
    image_size: int = 75,
    max_images: int | None = None,
) -> MultimodalDataset:
    """One split of Flickr8k: photos with their captions, from a local copy under ``root``.

    The same shape as the offline ``scene_captions``: modality ``"image"``
    (N, 3, image_size, image_size) uint8, each photo centre-cropped to a
    square (75 px by default, the scenes' size). Labels: (N,) image index
    0..N-1 (image i goes with captions i), so there are no ``classes``.
    ``info["captions"]``: the N lists of captions (five per image);
    ``info["image_name"]``: the file names, in the order of the split list.

    ``split`` uses the official split lists: ``train`` (6,000 images),
    ``val`` (Flickr8k's "dev" list, 1,000) and ``test`` (1,000).
    ``max_images`` keeps the first images of the split. ``download`` is there
    for the shared signature only: the course never downloads Flickr8k (its
    photos come under the dataset's own terms of use), so a missing copy is a
    ``FileNotFoundError`` that says where to put yours.
    """
    check_split(split, note=" (Flickr8k's 'dev' list is split='val')")
    check_positive_int(image_size, "image_size")
    if max_images is not None:
        check_positive_int(max_images, "max_images")
    root = data_root(root, "flickr8k")
    token_file = _find(root, [f"{d}/{TOKEN_FILE}" for d in _TEXT_DIRS], "caption file", is_dir=False)
    images_dir = _find(root, _IMAGE_DIRS, "image folder", is_dir=True)
    captions = read_flickr8k_captions(token_file)

    split_file = token_file.parent / SPLIT_FILES[split]
    if not split_file.is_file():
        raise FileNotFoundError(f"no split list {split_file.name} beside {token_file.name}")
    names = [n.strip() for n in split_file.read_text(encoding="utf-8").splitlines() if n.strip()]
    uncaptioned = [n for n in names if n not in captions]
    if uncaptioned:
        raise KeyError(
            f"{len(uncaptioned)} images of {split_file.name} have no caption, e.g. {uncaptioned[:3]}"
        )
    missing = [n for n in names if not (images_dir / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} images of the {split} split are not in {images_dir}: {missing[:3]}"
        )
    names = names[:max_images]

    pixels = np.stack([_load_image(images_dir / n, image_size) for n in names])  # (N, S, S, 3) uint8
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()  # (N, 3, S, S) uint8
    labels = torch.arange(len(names))
    return MultimodalDataset(
        {"image": images}, labels, {"captions": [captions[n] for n in names], "image_name": names}
    )
