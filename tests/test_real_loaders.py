"""Tests for the opt-in real-data loaders, on tiny fixture files in the real formats.

The fixtures (tests/fixtures/real, written by tests/fixtures/make_real_fixtures.py) mimic
MNIST's idx files in torchvision's layout, the FSDD release archive, a Flickr8k copy and
MedMNIST npz files. No test touches the network: every socket connection and DNS lookup fails.
"""

from __future__ import annotations

import inspect
import io
import shutil
import socket
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from mmlearn.data.base import MultimodalDataset
from mmlearn.data.download import (
    ChecksumError,
    CorruptArchiveError,
    OfflineError,
    UnsafeArchiveError,
    sha256_of,
)
from mmlearn.data.real import (
    FSDD_URL,
    load_av_mnist,
    load_flickr8k,
    load_fsdd,
    load_medmnist,
    medmnist_classes,
    read_flickr8k_captions,
)
from mmlearn.data.real.av_mnist import FSDD_ARCHIVE, FSDD_FOLDER

FIXTURES = Path(__file__).parent / "fixtures" / "real"
FSDD_FIXTURE = FIXTURES / "fsdd" / FSDD_ARCHIVE


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def read_idx(path: Path) -> np.ndarray:
    """An independent reader of MNIST's idx format."""
    data = path.read_bytes()
    ndim = data[3]
    shape = struct.unpack(f">{ndim}i", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.fixture
def av_root(tmp_path):
    """A data root holding MNIST; FSDD is 'downloaded' from the fixture archive by file:// URL."""
    shutil.copytree(FIXTURES / "MNIST", tmp_path / "MNIST")
    return tmp_path


def fsdd_source():
    return {"fsdd_url": FSDD_FIXTURE.resolve().as_uri(), "fsdd_sha256": sha256_of(FSDD_FIXTURE)}


# ------------------------------------------------------------------ one shape for every loader

LOADERS = [load_av_mnist, load_fsdd, load_flickr8k, load_medmnist]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_loaders_share_one_signature(loader):
    params = list(inspect.signature(loader).parameters.values())
    assert [p.name for p in params[:2]] == ["root", "split"]
    assert params[0].default is None and params[1].default == "train"
    download = inspect.signature(loader).parameters["download"]
    assert download.kind is inspect.Parameter.KEYWORD_ONLY and download.default is False
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[2:])


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("split", ["dev", "validation", "TRAIN"])
def test_loaders_refuse_other_split_names(tmp_path, loader, split):
    if loader is load_medmnist:
        pytest.importorskip("medmnist")
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'val', 'test'\]"):
        loader(tmp_path, split)


# ------------------------------------------------------------------ AV-MNIST


SMALL = {"n_val": 4}  # the fixture's MNIST has 20 training images, not 60,000


def recording_index(name: str) -> int:
    return int(name[:-4].split("_")[2])


@pytest.fixture
def av_splits(av_root):
    """The three AV-MNIST splits of the fixtures, FSDD 'downloaded' by the first call."""
    first = load_av_mnist(av_root, "train", download=True, normalize=False, **SMALL, **fsdd_source())
    rest = {split: load_av_mnist(av_root, split, normalize=False, **SMALL) for split in ("val", "test")}
    return {"train": first, **rest}


def test_av_mnist_pairs_images_with_recordings_of_the_same_digit(av_root, av_splits):
    train, val, test = av_splits["train"], av_splits["val"], av_splits["test"]
    assert (len(train), len(val), len(test)) == (16, 4, 10)
    for ds in (train, val, test):
        assert isinstance(ds, MultimodalDataset)
        assert ds.classes == tuple(str(d) for d in range(10))  # as the offline av_digits
        assert set(ds.modalities) == {"image", "audio"}
        assert (
            ds.modalities["image"].shape[1:] == (1, 28, 28) and ds.modalities["image"].dtype == torch.float32
        )
        assert ds.modalities["audio"].shape[1:] == (20, 44)  # the offline av_digits' MFCC shape
    # Train and validation images are disjoint parts of MNIST's training file, though loaded apart.
    assert set(train.info["image_id"].tolist()).isdisjoint(val.info["image_id"].tolist())
    assert sorted(train.info["image_id"].tolist() + val.info["image_id"].tolist()) == list(range(20))
    # Images and labels are MNIST's, read independently from the idx files.
    raw = FIXTURES / "MNIST" / "raw"
    for ds, prefix in ((train, "train"), (test, "t10k")):
        rows = ds.info["image_id"].numpy()
        labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte")[rows]
        assert torch.equal(ds.labels, torch.from_numpy(labels.astype(np.int64)))
        pixels = torch.from_numpy(read_idx(raw / f"{prefix}-images-idx3-ubyte")[rows].copy()).float() / 255
        assert torch.allclose(ds.modalities["image"][:, 0], pixels)
    # Each recording says the image's digit, and comes from its split's recordings only.
    for ds, indices in ((train, range(10, 50)), (val, range(5, 10)), (test, range(0, 5))):
        for label, name in zip(ds.labels.tolist(), ds.info["file"], strict=True):
            assert int(name[0]) == label and recording_index(name) in indices
    # The audio row is the MFCC of the named recording.
    speech = load_fsdd(av_root, "train")
    row = speech.info["file"].index(train.info["file"][3])
    assert torch.equal(train.modalities["audio"][3], speech.modalities["audio"][row])


def test_av_mnist_sizes_determinism_and_normalisation(av_root, av_splits):
    a = load_av_mnist(av_root, "train", n_val=3, max_images=10, seed=3)
    b = load_av_mnist(av_root, "train", n_val=3, max_images=10, seed=3)
    c = load_av_mnist(av_root, "train", n_val=3, max_images=10, seed=4)
    assert len(a) == 10 and len(load_av_mnist(av_root, "test", max_images=6)) == 6
    assert torch.equal(a.info["image_id"], b.info["image_id"]) and a.info["file"] == b.info["file"]
    assert torch.equal(a.modalities["audio"], b.modalities["audio"])
    assert a.info["file"] != c.info["file"]  # the seed matters
    # Each MFCC band is standardised with the statistics of FSDD's training recordings, in every split.
    pool = load_fsdd(av_root, "train").modalities["audio"]
    mean, std = pool.mean(dim=(0, 2), keepdim=True), pool.std(dim=(0, 2), keepdim=True)
    for split, raw in av_splits.items():
        normalised = load_av_mnist(av_root, split, **SMALL)
        assert torch.allclose(
            normalised.modalities["audio"], (raw.modalities["audio"] - mean) / std, atol=1e-5
        )


def test_av_mnist_bad_arguments(av_root, av_splits):
    with pytest.raises(ValueError, match="n_val=5000"):
        load_av_mnist(av_root)  # the default validation size does not fit the tiny fixture
    with pytest.raises(ValueError, match="max_images"):
        load_av_mnist(av_root, "test", max_images=0)
    with pytest.raises(ValueError, match="n_val"):
        load_av_mnist(av_root, "val", n_val=0)
    with pytest.raises(ValueError, match="split"):
        load_fsdd(av_root, "validation")
    with pytest.raises(ValueError, match="seconds"):
        load_fsdd(av_root, "test", seconds=0)


def test_fsdd_splits_and_seconds(av_root):
    source = {"url": FSDD_FIXTURE.resolve().as_uri(), "sha256": sha256_of(FSDD_FIXTURE)}
    splits = {split: load_fsdd(av_root, split, download=True, **source) for split in ("train", "val", "test")}
    files = [set(ds.info["file"]) for ds in splits.values()]
    assert all(len(f) == 20 for f in files) and not (
        files[0] & files[1] or files[0] & files[2] or files[1] & files[2]
    )
    assert all(recording_index(name) == 10 for name in files[0])
    assert all(isinstance(ds, MultimodalDataset) for ds in splits.values())
    assert splits["test"].classes == tuple("0123456789")
    assert [splits["test"].classes[y] for y in splits["test"].labels] == [
        f[0] for f in splits["test"].info["file"]
    ]
    one = load_fsdd(av_root, "test", n_mfcc=13, seconds=1.0)
    half = load_fsdd(av_root, "test", n_mfcc=13, seconds=0.5)
    assert one.modalities["audio"].shape == (20, 13, 1 + 8000 // 128)
    assert half.modalities["audio"].shape == (20, 13, 1 + 4000 // 128)
    # Tones of different pitch (digits) give different features.
    assert not torch.allclose(one.modalities["audio"][0], one.modalities["audio"][2])


def test_fsdd_archive_with_wrong_checksum_is_refused(av_root):
    with pytest.raises(ChecksumError, match="expected 0{64}"):
        load_fsdd(av_root, download=True, url=FSDD_FIXTURE.resolve().as_uri(), sha256="0" * 64)
    assert list((av_root / "fsdd").iterdir()) == []  # neither the archive nor a partial file remains


def test_fsdd_archive_present_is_verified_without_download(av_root):
    (av_root / "fsdd").mkdir()
    shutil.copy(FSDD_FIXTURE, av_root / "fsdd" / FSDD_ARCHIVE)
    ds = load_fsdd(av_root, "test", sha256=sha256_of(FSDD_FIXTURE))
    assert len(ds) == 20 and all(recording_index(n) == 0 for n in ds.info["file"])
    shutil.rmtree(av_root / "fsdd" / FSDD_FOLDER)
    (av_root / "fsdd" / FSDD_ARCHIVE).write_bytes(b"truncated")
    with pytest.raises(ChecksumError, match="delete it, or pass download=True"):
        load_fsdd(av_root, "test", sha256=sha256_of(FSDD_FIXTURE))
    assert not (av_root / "fsdd" / FSDD_FOLDER).exists()
    # With download=True the damaged archive is replaced by a fresh, verified download.
    source = {"url": FSDD_FIXTURE.resolve().as_uri(), "sha256": sha256_of(FSDD_FIXTURE)}
    assert len(load_fsdd(av_root, "test", download=True, **source)) == 20
    assert sha256_of(av_root / "fsdd" / FSDD_ARCHIVE) == sha256_of(FSDD_FIXTURE)


def test_fsdd_truncated_archive_without_checksum_says_download_again(av_root):
    (av_root / "fsdd").mkdir()
    data = FSDD_FIXTURE.read_bytes()
    (av_root / "fsdd" / FSDD_ARCHIVE).write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArchiveError, match="Delete it and download it again"):
        load_fsdd(av_root, "test", sha256=None)
    assert [p.name for p in (av_root / "fsdd").iterdir()] == [FSDD_ARCHIVE]  # nothing half-extracted


def test_fsdd_archive_escaping_the_folder_is_refused(av_root, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tf:
        info = tarfile.TarInfo(f"../{FSDD_FOLDER}/recordings/0_x_0.wav")
        tf.addfile(info, io.BytesIO(b""))
    with pytest.raises(UnsafeArchiveError):
        load_fsdd(av_root, download=True, url=evil.as_uri(), sha256=sha256_of(evil))
    assert not (av_root / FSDD_FOLDER).exists()
    assert [p.name for p in (av_root / "fsdd").iterdir()] == [FSDD_ARCHIVE]  # no staging folder left


def test_fsdd_archive_without_recordings_leaves_nothing(av_root, tmp_path):
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tf:
        tf.addfile(tarfile.TarInfo(f"{FSDD_FOLDER}/README.md"), io.BytesIO(b""))
    with pytest.raises(FileNotFoundError, match="recordings"):
        load_fsdd(av_root, download=True, url=other.as_uri(), sha256=sha256_of(other))
    assert [p.name for p in (av_root / "fsdd").iterdir()] == [FSDD_ARCHIVE]


def test_fsdd_misnamed_recording_is_an_error(av_root):
    load_fsdd(
        av_root, "test", download=True, url=FSDD_FIXTURE.resolve().as_uri(), sha256=sha256_of(FSDD_FIXTURE)
    )
    (av_root / "fsdd" / FSDD_FOLDER / "recordings" / "seven.wav").write_bytes(b"")
    with pytest.raises(ValueError, match="seven.wav"):
        load_fsdd(av_root, "test")


def test_missing_data_without_download_says_what_to_do(tmp_path, av_root):
    with pytest.raises(FileNotFoundError, match="av_digits"):
        load_av_mnist(tmp_path / "empty", **SMALL)  # no MNIST
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_av_mnist(av_root, **SMALL)  # MNIST present, FSDD not


def test_offline_download_names_the_offline_dataset(tmp_path, av_root):
    with pytest.raises(OfflineError, match="offline.*av_digits"):
        load_av_mnist(tmp_path / "empty", download=True)  # torchvision's MNIST download
    with pytest.raises(OfflineError, match="offline.*av_digits"):
        load_av_mnist(av_root, download=True, fsdd_url=FSDD_URL, **SMALL)  # the pinned FSDD release


# ------------------------------------------------------------------ Flickr8k

FLICKR = FIXTURES / "flickr8k"
FLICKR_TOKENS = FLICKR / "Flickr8k_text" / "Flickr8k.token.txt"


def test_read_captions_groups_five_per_image():
    captions = read_flickr8k_captions(FLICKR_TOKENS)
    assert len(captions) == 5  # four images and the real file's stray '...jpg.1' entry
    assert all(len(c) == 5 for c in captions.values())
    first = FLICKR_TOKENS.read_text().splitlines()[0]
    name, caption = first.split("\t")
    assert captions[name.split("#")[0]][0] == caption


def test_read_captions_orders_by_index_and_handles_crlf(tmp_path):
    token = tmp_path / "Flickr8k.token.txt"
    token.write_bytes(b"b.jpg#1\tsecond of b\r\na.jpg#0\tfirst of a\r\nb.jpg#0\tfirst of b\r\n\r\n")
    assert read_flickr8k_captions(token) == {"b.jpg": ["first of b", "second of b"], "a.jpg": ["first of a"]}


@pytest.mark.parametrize(
    "text, match",
    [
        ("a.jpg#0 no tab here\n", "line 1"),
        ("ok.jpg#0\tfine\na.jpg\tno index\n", "line 2"),
        ("a.jpg#x\tbad index\n", "line 1"),
        ("a.jpg#0\t   \n", "line 1"),
        ("a.jpg#0\tone\na.jpg#0\tagain\n", "twice"),
        ("\n\n", "no captions"),
    ],
)
def test_read_captions_rejects_malformed_files(tmp_path, text, match):
    token = tmp_path / "Flickr8k.token.txt"
    token.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_flickr8k_captions(token)


def test_load_flickr8k_splits(tmp_path):
    text = FLICKR / "Flickr8k_text"
    for split, listed in (("train", "trainImages"), ("val", "devImages"), ("test", "testImages")):
        ds = load_flickr8k(FLICKR, split, image_size=20)
        names = (text / f"Flickr_8k.{listed}.txt").read_text().split()
        assert isinstance(ds, MultimodalDataset) and ds.info["image_name"] == names
        assert ds.modalities["image"].shape == (len(names), 3, 20, 20)
        assert ds.modalities["image"].dtype == torch.uint8  # like the offline scene captions
        assert torch.equal(ds.labels, torch.arange(len(names)))
        assert ds.info["captions"] == [read_flickr8k_captions(FLICKR_TOKENS)[n] for n in names]
    # The fixture's i-th photo has blue = 60 * i everywhere: the pixels belong to the named file.
    train = load_flickr8k(FLICKR, "train", image_size=20)
    blue = train.modalities["image"][:, 2].float().mean(dim=(1, 2))
    assert torch.allclose(blue, torch.tensor([0.0, 60.0]), atol=6)
    assert len(load_flickr8k(FLICKR, "train", image_size=8, max_images=1)) == 1
    # download=True is accepted (the shared signature) and downloads nothing when the copy is there.
    assert load_flickr8k(FLICKR, "test", download=True, image_size=8).info["image_name"] == names


def test_load_flickr8k_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="scene_captions"):
        load_flickr8k(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not download"):
        load_flickr8k(tmp_path, download=True)
    with pytest.raises(ValueError, match="'dev' list is split='val'"):
        load_flickr8k(FLICKR, "dev")
    with pytest.raises(ValueError, match="image_size"):
        load_flickr8k(FLICKR, image_size=0)
    copy = tmp_path / "copy"
    shutil.copytree(FLICKR, copy)
    first = (copy / "Flickr8k_text" / "Flickr_8k.trainImages.txt").read_text().split()[0]
    (copy / "Flicker8k_Dataset" / first).unlink()
    with pytest.raises(FileNotFoundError, match=first):
        load_flickr8k(copy, "train")
    (copy / "Flickr8k_text" / "Flickr_8k.devImages.txt").write_text("unknown.jpg\n")
    with pytest.raises(KeyError, match="no caption"):
        load_flickr8k(copy, "val")


# ------------------------------------------------------------------ MedMNIST

MED = FIXTURES / "medmnist"


@pytest.fixture
def medmnist():
    """The optional medmnist package (only these tests need it)."""
    return pytest.importorskip("medmnist")


@pytest.fixture
def fixture_md5(monkeypatch, medmnist):
    """Make the medmnist package expect the fixtures' MD5, so the verifying path is exercised."""
    from torchvision.datasets.utils import calculate_md5

    for flag in ("dermamnist", "pneumoniamnist"):
        monkeypatch.setitem(medmnist.INFO[flag], "MD5", calculate_md5(MED / f"{flag}.npz"))


def test_medmnist_colour_and_grey(fixture_md5):
    npz = np.load(MED / "dermamnist.npz")
    derm = load_medmnist(MED, "val", flag="dermamnist")
    assert isinstance(derm, MultimodalDataset)
    assert derm.modalities["image"].shape == (2, 3, 28, 28)
    assert torch.allclose(
        derm.modalities["image"], torch.from_numpy(npz["val_images"]).permute(0, 3, 1, 2) / 255
    )
    assert torch.equal(derm.labels, torch.from_numpy(npz["val_labels"][:, 0].astype(np.int64)))
    assert derm.classes == tuple(medmnist_classes("dermamnist")) and len(derm.classes) == 7
    grey = load_medmnist(MED, "train", flag="pneumoniamnist")
    assert grey.modalities["image"].shape == (6, 1, 28, 28) and grey.labels.dtype == torch.long
    assert grey.classes == ("normal", "pneumonia") == tuple(medmnist_classes("pneumoniamnist"))


def test_medmnist_multilabel(medmnist, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (3, 14), dtype=np.uint8)
    np.savez_compressed(tmp_path / "chestmnist.npz", **arrays)
    ds = load_medmnist(tmp_path, "test", flag="chestmnist", verify=False)
    assert ds.labels.shape == (3, 14) and ds.labels.dtype == torch.float32
    assert torch.equal(ds.labels, torch.from_numpy(arrays["test_labels"]).float())
    assert len(ds.classes) == 14


def test_medmnist_checksum_mismatch_is_refused(medmnist):
    expected = medmnist.INFO["dermamnist"]["MD5"]
    with pytest.raises(ChecksumError, match=f"{expected}.*pass download=True"):
        load_medmnist(MED, flag="dermamnist")


def test_medmnist_download_is_verified_and_replaces_a_damaged_file(medmnist, monkeypatch, tmp_path):
    """The 'server' is the fixture npz behind a file:// URL; the medmnist package's MD5 is the fixture's."""
    from torchvision.datasets.utils import calculate_md5

    fixture = MED / "pneumoniamnist.npz"
    monkeypatch.setitem(medmnist.INFO["pneumoniamnist"], "url", fixture.resolve().as_uri())
    monkeypatch.setitem(medmnist.INFO["pneumoniamnist"], "MD5", calculate_md5(fixture))
    (tmp_path / "pneumoniamnist.npz").write_bytes(b"a download that stopped half-way")
    ds = load_medmnist(tmp_path, "test", download=True, flag="pneumoniamnist")
    assert len(ds) == 2 and calculate_md5(tmp_path / "pneumoniamnist.npz") == calculate_md5(fixture)
    # A server that sends other bytes than the MD5 promises: refused, and nothing is kept.
    monkeypatch.setitem(medmnist.INFO["pneumoniamnist"], "MD5", "0" * 32)
    with pytest.raises(ChecksumError, match="0{32}"):
        load_medmnist(tmp_path / "new", "test", download=True, flag="pneumoniamnist")
    assert list((tmp_path / "new").iterdir()) == []


def test_medmnist_missing_file_and_offline(medmnist, tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True.*lesions"):
        load_medmnist(tmp_path, flag="dermamnist")
    with pytest.raises(OfflineError, match="offline.*lesions"):
        load_medmnist(tmp_path / "new", download=True, flag="pneumoniamnist")
    assert not any(p.is_file() for p in (tmp_path / "new").rglob("*"))


def test_medmnist_bad_arguments(medmnist):
    with pytest.raises(KeyError, match="unknown MedMNIST subset flag='skinmnist'"):
        load_medmnist(MED, flag="skinmnist")
    with pytest.raises(ValueError, match="3-D"):
        load_medmnist(MED, flag="organmnist3d")
    with pytest.raises(ValueError, match="split"):
        load_medmnist(MED, "validation", flag="dermamnist")
    with pytest.raises(ValueError, match="size"):
        load_medmnist(MED, flag="dermamnist", size=32)


def test_fixtures_stay_small():
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < 200 * 1024
    with zipfile.ZipFile(MED / "dermamnist.npz") as zf:  # medmnist's npz keys
        assert sorted(zf.namelist()) == sorted(
            f"{s}_{k}.npy" for s in ("train", "val", "test") for k in ("images", "labels")
        )


@pytest.mark.parametrize("module", ["av_mnist", "flickr8k", "medmnist"])
def test_offline_hint_names_a_real_function(module):
    """The offline alternative an error message points to must exist."""
    import importlib
    import re

    hint = importlib.import_module(f"mmlearn.data.real.{module}").OFFLINE_HINT
    dotted = re.search(r"\((mmlearn[\w.]+)\)", hint)[1]
    module_name, _, function = dotted.rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), function))
