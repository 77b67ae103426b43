"""Tests for mmlearn.data.download: verified atomic downloads and archive extraction that cannot escape.

No test touches the network: an autouse fixture makes every socket connection and
DNS lookup fail, except to 127.0.0.1, where a small ``http.server`` in a thread plays
a misbehaving web server. Other downloads use file:// URLs or a patched ``urlopen``.
Hostile archives are built in ``tmp_path``.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import http.server
import io
import os
import socket
import ssl
import stat
import struct
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from mmlearn.data.download import (
    ChecksumError,
    CorruptArchiveError,
    DownloadError,
    OfflineError,
    UnsafeArchiveError,
    default_data_dir,
    download_file,
    safe_extract,
    sha256_of,
    verify_sha256,
)

HINT = "the offline test dataset (mmlearn.data.example)"


LOCAL = "127.0.0.1"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to reach the network fails at once, as on a machine without internet.

    Only this machine's own address stays reachable, for the test server below.
    """
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host == LOCAL:
            return real_getaddrinfo(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "network disabled in tests")

    def connect(sock, address):
        if isinstance(address, tuple) and address[0] == LOCAL:
            return real_connect(sock, address)
        raise socket.gaierror(socket.EAI_NONAME, "network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes served by the test server


class _Handler(http.server.BaseHTTPRequestHandler):
    """A web server that misbehaves on purpose, one way per path."""

    def do_GET(self):
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        if self.path == "/chunked-cut":  # a chunked body that stops inside a chunk: IncompleteRead
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"1000\r\n" + PAYLOAD[:100])
            return
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if self.path == "/full":
            self.wfile.write(PAYLOAD)
        elif self.path == "/cut":  # announces 10,240 bytes, sends 4,000 and closes the connection
            self.wfile.write(PAYLOAD[:4000])
        elif self.path == "/reset":  # sends 4,000 bytes, then resets the connection (TCP RST)
            self.wfile.write(PAYLOAD[:4000])
            self.wfile.flush()
            time.sleep(0.2)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def log_message(self, *args):  # keep the test output quiet
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the reset path breaks its own socket on purpose
        pass


@pytest.fixture
def server(monkeypatch):
    """The base URL of the misbehaving server, running in a thread for one test."""
    monkeypatch.setenv("no_proxy", "*")  # a proxy configured on this machine must not intercept 127.0.0.1
    httpd = _QuietServer((LOCAL, 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOCAL}:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


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
    """A response that delivers one chunk, then fails with ``error``."""

    headers = {"Content-Length": "5000000"}

    def __init__(self, error):
        self.calls = 0
        self.error = error

    def read(self, n):
        self.calls += 1
        if self.calls == 1:
            return b"x" * 1000
        raise self.error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        http.client.IncompleteRead(b"x" * 10, 4000),
        EOFError("compressed stream ended"),
        TimeoutError("The read operation timed out"),
    ],
    ids=["reset", "incomplete-read", "eof", "timeout"],
)
def test_failure_mid_stream_says_retry_and_keeps_old_copy(monkeypatch, tmp_path, error):
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"an older, stale copy")
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: _BrokenResponse(error))
    with pytest.raises(DownloadError, match=r"stopped after 1,000 of 5,000,000 bytes.*again") as err:
        download_file("https://example.org/data.bin", dest, "1" * 64, progress=False, offline_hint=HINT)
    assert not isinstance(err.value, OfflineError)  # the network was there: "offline" would mislead
    assert dest.read_bytes() == b"an older, stale copy"  # never half-overwritten
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("path", ["/cut", "/chunked-cut", "/reset"])
def test_server_that_stops_early_leaves_nothing_even_without_checksum(server, tmp_path, path):
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="again") as err:
        download_file(server + path, dest, None, progress=False, offline_hint=HINT)
    assert not isinstance(err.value, OfflineError)
    assert list(tmp_path.iterdir()) == []  # no partial file that a later call would take as downloaded
    with pytest.warns(UserWarning, match="without verification"):
        download_file(server + "/full", dest, None, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_cut_download_message_counts_the_bytes(server, tmp_path):
    with pytest.raises(DownloadError, match=r"stopped after 4,000 of 10,240 bytes"):
        download_file(server + "/cut", tmp_path / "d.bin", None, progress=False)


def test_server_404_names_the_url_and_is_not_offline(server, tmp_path):
    url = server + "/missing"
    with pytest.raises(DownloadError, match=r"HTTP 404") as err:
        download_file(url, tmp_path / "d.bin", None, progress=False, offline_hint=HINT)
    assert url in str(err.value) and "check the URL" in str(err.value)
    assert not isinstance(err.value, OfflineError) and "offline" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "error, offline",
    [
        (urllib.error.URLError(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")), 1),
        (urllib.error.URLError(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")), False),
        (urllib.error.URLError(OSError(errno.ENETUNREACH, "Network is unreachable")), True),
        (urllib.error.URLError(ssl.SSLCertVerificationError("certificate verify failed")), False),
        (urllib.error.URLError(TimeoutError("timed out")), False),
        (http.client.RemoteDisconnected("Remote end closed connection without response"), False),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), False),
        (urllib.error.URLError("unknown url type: htps"), False),
    ],
    ids=["dns", "refused", "no-route", "certificate", "timeout", "disconnected", "reset", "bad-scheme"],
)
def test_only_an_unreachable_network_is_called_offline(monkeypatch, tmp_path, error, offline):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(DownloadError) as err:
        download_file("https://example.org/d.bin", tmp_path / "d.bin", None, offline_hint=HINT)
    assert isinstance(err.value, OfflineError) == offline
    assert ("seems to be offline" in str(err.value)) == offline
    refused = isinstance(getattr(error, "reason", None), ConnectionRefusedError)
    assert (HINT in str(err.value)) == (offline or refused)
    assert list(tmp_path.iterdir()) == []


def test_md5_verifies_the_download_and_replaces_a_damaged_copy(source, tmp_path):
    src, _ = source
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    dest = tmp_path / "data.bin"
    with pytest.raises(ChecksumError, match="MD5 mismatch"):
        download_file(src.as_uri(), dest, None, md5="0" * 32, progress=False)
    assert list(tmp_path.iterdir()) == [src]
    dest.write_bytes(b"damaged")
    download_file(src.as_uri(), dest, None, md5=md5, progress=False)
    assert dest.read_bytes() == src.read_bytes()
    with pytest.raises(ValueError, match="md5"):
        download_file(src.as_uri(), dest, None, md5="abc")


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


def test_a_refused_connection_names_the_url_and_both_likely_causes(monkeypatch, tmp_path):
    """A refusal may come from a wrong port as well as from a closed network: say both, claim neither."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(DownloadError, match=r"connection to https://example.org/data.bin was refused") as err:
        download_file("https://example.org/data.bin", tmp_path / "d.bin", "3" * 64, offline_hint=HINT)
    assert "host and port" in str(err.value) and HINT in str(err.value)
    assert not isinstance(err.value, OfflineError)
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


def test_existing_non_empty_dest_is_refused_and_left_alone(tmp_path):
    # Extraction replaces dest as a whole, so a symlink planted in it can never be written through.
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    archive = make_zip(tmp_path / "ok.zip", [("sub/evil.txt", b"pwned")])
    with pytest.raises(FileExistsError, match="dest .*not an empty folder"):
        safe_extract(archive, dest)
    assert list(outside.iterdir()) == [] and [p.name for p in dest.iterdir()] == ["sub"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (safe_extract(archive, empty) / "sub" / "evil.txt").read_bytes() == b"pwned"


def no_partial_folders(folder: Path) -> bool:
    return not any(p.name.endswith(".partial") for p in folder.iterdir())


@pytest.mark.parametrize("python_filter", [True, False], ids=["with-data-filter", "old-python"])
def test_symlink_chain_is_refused_before_anything_is_written(tmp_path, monkeypatch, python_filter):
    # a -> . and a/b -> .. make a/b/x land in dest's parent. Python's 'data' filter notices only when
    # it reaches a/b, after writing the earlier members; Pythons before 3.10.12 / 3.11.4 have no filter
    # (simulated by removing it) and would write x outside.
    if not python_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    archive = make_tar(
        tmp_path / "chain.tar.gz",
        [("good.txt", b"harmless"), link("a", "."), link("a/b", ".."), ("a/b/x", b"pwned")],
    )
    dest = work / "dest"
    with pytest.raises(UnsafeArchiveError, match="through the link 'a'"):
        safe_extract(archive, dest)
    assert list(work.iterdir()) == []  # neither dest, nor x beside it, nor a temporary folder
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "members, match",
    [
        ([link("a", "."), link("c", "a/..")], "through the link 'a'"),  # a/.. is dest's parent, not dest
        ([("f", b"data"), link("y", "f"), link("x", "y")], "another link"),
        ([("f", b"data"), link("y", "f"), link("h", "y", kind=tarfile.LNKTYPE)], "another link"),
        ([link("h", "later", kind=tarfile.LNKTYPE), ("later", b"data")], "regular file earlier"),
        ([link("d", "."), ("d", b"replaces the link after the check")], "shares its name"),
        ([link("A", "."), ("a/x", b"through A on macOS and Windows")], "through the link 'a'"),
    ],
    ids=["through-link", "symlink-chain", "hardlink-to-symlink", "hardlink-forward", "duplicate", "case"],
)
def test_link_tricks_are_refused(tmp_path, members, match):
    archive = make_tar(tmp_path / "bad.tar.gz", members)
    with pytest.raises(UnsafeArchiveError, match=match):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists() and no_partial_folders(tmp_path)


def test_dot_slash_names_and_hard_links_inside_are_extracted(tmp_path):
    root = tarfile.TarInfo("./")
    root.type = tarfile.DIRTYPE
    archive = make_tar(
        tmp_path / "ok.tar.gz",
        [root, ("./top/a.txt", b"alpha"), link("./top/hard.txt", "top/a.txt", kind=tarfile.LNKTYPE)],
    )
    dest = safe_extract(archive, tmp_path / "out")
    assert (dest / "top" / "hard.txt").read_bytes() == b"alpha"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert no_partial_folders(tmp_path)


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_archive_expanding_past_max_bytes_is_refused(tmp_path, kind):
    # A zip bomb in small: 16 MiB of zeros compress to a few KiB.
    members = [("small.txt", b"ok"), ("zeros.bin", bytes(16 << 20))]
    if kind == "zip":
        archive = tmp_path / "bomb.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    else:
        archive = make_tar(tmp_path / "bomb.tar.gz", members)
    assert archive.stat().st_size < 100 * 1024
    with pytest.raises(UnsafeArchiveError, match=r"max_bytes=1,048,576"):
        safe_extract(archive, tmp_path / "dest", max_bytes=1 << 20)
    assert not (tmp_path / "dest").exists() and no_partial_folders(tmp_path)
    dest = safe_extract(archive, tmp_path / "dest", max_bytes=17 << 20)  # a trusted archive: a larger limit
    assert (dest / "zeros.bin").stat().st_size == 16 << 20


def test_archive_with_too_many_members_is_refused(tmp_path):
    archive = make_tar(tmp_path / "many.tar.gz", [(f"f{i}.txt", b"") for i in range(5)])
    with pytest.raises(UnsafeArchiveError, match="max_members=4"):
        safe_extract(archive, tmp_path / "dest", max_members=4)
    assert not (tmp_path / "dest").exists()
    assert len(list(safe_extract(archive, tmp_path / "dest", max_members=5).iterdir())) == 5


@pytest.mark.parametrize("kwargs", [{"max_bytes": 0}, {"max_members": -1}, {"max_bytes": 1.5}])
def test_extract_bad_limits_name_the_argument(tmp_path, kwargs):
    archive = make_zip(tmp_path / "ok.zip", [("a.txt", b"alpha")])
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        safe_extract(archive, tmp_path / "dest", **kwargs)


def _bad_crc_zip(path: Path) -> Path:
    """A zip whose second member's data was damaged after writing (its CRC no longer matches)."""
    make_zip(path, [("first.txt", b"written before the damage is found"), ("second.txt", b"B" * 100)])
    data = bytearray(path.read_bytes())
    data[data.index(b"B" * 100)] = ord("C")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("damage", ["truncated-tar", "truncated-zip", "bad-crc-zip", "garbage-gzip"])
def test_damaged_archive_says_download_again_and_leaves_nothing(tmp_path, damage):
    members = [(f"f{i}.bin", os.urandom(20_000)) for i in range(5)]
    if damage == "truncated-tar":
        archive = make_tar(tmp_path / "a.tar.gz", members)
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    elif damage == "truncated-zip":
        archive = make_zip(tmp_path / "a.zip", members)
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    elif damage == "bad-crc-zip":
        archive = _bad_crc_zip(tmp_path / "a.zip")
    else:
        archive = tmp_path / "a.tar.gz"
        archive.write_bytes(b"\x1f\x8b" + os.urandom(1000))
    with pytest.raises(CorruptArchiveError, match="Delete it and download it again"):
        safe_extract(archive, tmp_path / "work" / "dest")
    assert not (tmp_path / "work").exists() or list((tmp_path / "work").iterdir()) == []


def test_extract_rejects_missing_or_unknown_archive(tmp_path):
    with pytest.raises(FileNotFoundError):
        safe_extract(tmp_path / "missing.zip", tmp_path / "out")
    plain = tmp_path / "plain.txt"
    plain.write_text("not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        safe_extract(plain, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["..\\evil.txt", "sub\\..\\..\\evil.txt", "C:evil.txt"])
def test_names_windows_reads_as_a_climb_or_a_drive_are_refused(tmp_path, name):
    """Python 3.10.0-3.10.11 and 3.11.0-3.11.3 have no tar 'data' filter: on Windows these would escape."""
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(UnsafeArchiveError, match="backslash or a colon"):
        safe_extract(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar"]
