"""Tests for mmlearn.data.download: verified atomic downloads and archive extraction that cannot escape.

No test touches the network: an autouse fixture makes every socket connection and
DNS lookup fail, downloads use file:// URLs or a patched ``urlopen``.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from mmlearn.data.download import (
    ChecksumError,
    OfflineError,
    UnsafeArchiveError,
    default_data_dir,
    download_file,
    safe_extract,
    sha256_of,
    verify_sha256,
)

HINT = "the offline test dataset (mmlearn.data.example)"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to reach the network fails at once, as on a machine without internet."""

    def refuse(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def source(tmp_path):
    """A local file to 'download' and its SHA-256."""
    data = os.urandom(3 * (1 << 20) + 123)  # more than one 1 MiB chunk
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# ------------------------------------------------------------------ download_file


def test_download_writes_verified_file(source, tmp_path):
    src, sha = source
    dest = tmp_path / "cache" / "sub" / "data.bin"
    out = download_file(src.as_uri(), dest, sha, progress=False)
    assert out == dest
    assert dest.read_bytes() == src.read_bytes()
    assert leftovers(dest.parent) == []
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644


def test_checksum_mismatch_deletes_download_and_names_both(source, tmp_path):
    src, sha = source
    wrong = "0" * 64
    dest = tmp_path / "data.bin"
    with pytest.raises(ChecksumError) as err:
        download_file(src.as_uri(), dest, wrong, progress=False)
    assert wrong in str(err.value) and sha in str(err.value)
    assert not dest.exists()
    assert leftovers(tmp_path) == []


class _BrokenResponse:
    """A response that delivers one chunk, then loses the connection."""

    headers = {"Content-Length": "5000000"}

    def __init__(self):
        self.calls = 0

    def read(self, n):
        self.calls += 1
        if self.calls == 1:
            return b"x" * 1000
        raise ConnectionResetError("connection reset by peer")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_failure_mid_stream_leaves_no_partial_file_and_keeps_old_copy(monkeypatch, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"an older, stale copy")
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: _BrokenResponse())
    with pytest.raises(OfflineError, match="connection lost"):
        download_file("https://example.org/data.bin", dest, "1" * 64, progress=False, offline_hint=HINT)
    assert dest.read_bytes() == b"an older, stale copy"  # never half-overwritten
    assert leftovers(tmp_path) == []


def test_present_file_with_right_checksum_is_not_downloaded(source, monkeypatch, tmp_path):
    src, sha = source
    dest = tmp_path / "data.bin"
    dest.write_bytes(src.read_bytes())
    before = dest.stat().st_mtime_ns

    def must_not_be_called(*args, **kwargs):
        raise AssertionError("urlopen was called although the file is present")

    monkeypatch.setattr(urllib.request, "urlopen", must_not_be_called)
    assert download_file("https://example.org/data.bin", dest, sha) == dest
    assert dest.stat().st_mtime_ns == before


def test_present_file_with_wrong_checksum_is_replaced(source, tmp_path):
    src, sha = source
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"corrupted")
    download_file(src.as_uri(), dest, sha, progress=False)
    assert sha256_of(dest) == sha


def test_offline_message_names_offline_dataset(tmp_path):
    # The autouse fixture makes DNS fail, exactly as on a machine without internet.
    with pytest.raises(OfflineError) as err:
        download_file("https://example.org/data.bin", tmp_path / "data.bin", "2" * 64, offline_hint=HINT)
    assert "offline" in str(err.value) and HINT in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_offline_refused_connection(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(OfflineError, match="seems to be offline"):
        download_file("https://example.org/data.bin", tmp_path / "d.bin", "3" * 64, offline_hint=HINT)
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_not_called_offline(monkeypatch, tmp_path):
    def not_found(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, io.BytesIO())

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(ConnectionError, match="HTTP 404") as err:
        download_file("https://example.org/gone.bin", tmp_path / "d.bin", "4" * 64)
    assert not isinstance(err.value, OfflineError)
    assert list(tmp_path.iterdir()) == []


def test_unverified_download_warns_with_actual_checksum(source, tmp_path):
    src, sha = source
    with pytest.warns(UserWarning, match=sha):
        download_file(src.as_uri(), tmp_path / "d.bin", None, progress=False)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"sha256": "abc"}, ValueError),
        ({"sha256": "g" * 64}, ValueError),
        ({"timeout": 0}, ValueError),
        ({"url": ""}, ValueError),
    ],
)
def test_download_bad_arguments(source, tmp_path, kwargs, error):
    src, sha = source
    args = {"url": src.as_uri(), "dest": tmp_path / "d.bin", "sha256": sha} | kwargs
    with pytest.raises(error):
        download_file(**args)
    assert not (tmp_path / "d.bin").exists()


def test_download_dest_is_folder_or_source_missing(source, tmp_path):
    src, sha = source
    with pytest.raises(IsADirectoryError):
        download_file(src.as_uri(), tmp_path, sha)
    with pytest.raises(FileNotFoundError):
        download_file((tmp_path / "missing.bin").as_uri(), tmp_path / "d.bin", sha)
    assert leftovers(tmp_path) == []


def test_verify_sha256(source, tmp_path):
    src, sha = source
    assert verify_sha256(src, sha.upper()) == src
    with pytest.raises(ChecksumError, match=sha):
        verify_sha256(src, "5" * 64)
    with pytest.raises(FileNotFoundError):
        verify_sha256(tmp_path / "missing", sha)
    assert sha256_of(src) == hashlib.sha256(src.read_bytes()).hexdigest()


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MMLEARN_DATA", str(tmp_path / "data"))
    assert default_data_dir() == tmp_path / "data"
    monkeypatch.delenv("MMLEARN_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".cache" / "mmlearn"


# ------------------------------------------------------------------ safe_extract


def make_zip(path: Path, members: list[tuple[str, bytes]], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def link(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_extract_good_zip_and_tar(tmp_path):
    members = [("top/a.txt", b"alpha"), ("top/sub/b.txt", b"beta")]
    for archive in (make_zip(tmp_path / "ok.zip", members), make_tar(tmp_path / "ok.tar.gz", members)):
        dest = tmp_path / f"out_{archive.name}"
        assert safe_extract(archive, dest) == dest
        assert (dest / "top" / "a.txt").read_bytes() == b"alpha"
        assert (dest / "top" / "sub" / "b.txt").read_bytes() == b"beta"


def test_tar_symlink_inside_is_allowed(tmp_path):
    archive = make_tar(tmp_path / "ok.tar.gz", [("top/a.txt", b"alpha"), link("top/alias.txt", "a.txt")])
    dest = safe_extract(archive, tmp_path / "out")
    assert (dest / "top" / "alias.txt").is_symlink()
    assert (dest / "top" / "alias.txt").read_bytes() == b"alpha"


ESCAPES = ["../evil.txt", "top/../../evil.txt", "ABSOLUTE"]


@pytest.mark.parametrize("kind", ["zip", "tar"])
@pytest.mark.parametrize("bad_name", ESCAPES)
def test_escaping_member_is_refused_and_nothing_written(tmp_path, kind, bad_name):
    outside = tmp_path / "evil.txt"
    name = str(outside) if bad_name == "ABSOLUTE" else bad_name
    members = [("good.txt", b"harmless"), (name, b"pwned")]  # the good member comes first
    archive = (make_zip if kind == "zip" else make_tar)(tmp_path / f"bad.{kind}", members)
    dest = tmp_path / "work" / "dest"
    with pytest.raises(UnsafeArchiveError, match="outside"):
        safe_extract(archive, dest)
    assert not dest.exists()
    assert not outside.exists()
    assert not (tmp_path / "work" / "evil.txt").exists()


@pytest.mark.parametrize(
    "member",
    [
        link("escape", "../../outside"),
        link("abs", "/etc"),
        link("top/deep", "../../.."),
        link("hard", "../outside.txt", kind=tarfile.LNKTYPE),
        link("hardabs", "/etc/passwd", kind=tarfile.LNKTYPE),
    ],
    ids=["symlink-dotdot", "symlink-absolute", "symlink-nested", "hardlink-dotdot", "hardlink-absolute"],
)
def test_tar_link_pointing_out_is_refused(tmp_path, member):
    archive = make_tar(tmp_path / "bad.tar.gz", [("good.txt", b"harmless"), member])
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match="points outside"):
        safe_extract(archive, dest)
    assert not dest.exists()


def test_zip_symlink_pointing_out_is_refused(tmp_path):
    archive = make_zip(
        tmp_path / "bad.zip", [("good.txt", b"harmless")], symlinks={"link": "../../etc/passwd"}
    )
    with pytest.raises(UnsafeArchiveError, match="symlink 'link'"):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_tar_device_file_is_refused(tmp_path):
    device = tarfile.TarInfo("dev")
    device.type = tarfile.CHRTYPE
    archive = make_tar(tmp_path / "bad.tar.gz", [device])
    with pytest.raises(UnsafeArchiveError, match="device"):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_existing_symlink_in_dest_cannot_be_used_to_escape(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    archive = make_zip(tmp_path / "bad.zip", [("sub/evil.txt", b"pwned")])
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, dest)
    assert list(outside.iterdir()) == []


def test_extract_rejects_missing_or_unknown_archive(tmp_path):
    with pytest.raises(FileNotFoundError):
        safe_extract(tmp_path / "missing.zip", tmp_path / "out")
    plain = tmp_path / "plain.txt"
    plain.write_text("not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        safe_extract(plain, tmp_path / "out")
    assert not (tmp_path / "out").exists()
