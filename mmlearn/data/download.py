"""Safe downloads and archive extraction for the opt-in real datasets.

No lesson downloads anything: every lesson runs on generated data. A student
who wants the real datasets opts in, and then several things can go wrong
quietly: a download stops half-way and leaves a truncated file that later
looks complete, the server sends different bytes than the course was written
for, or an archive is hostile: a member such as ``../../.bashrc``, a chain of
symbolic links that leads out of the target folder, or a small file that
expands to many gigabytes. This module closes each of them:

- ``download_file`` streams to a temporary file beside the destination,
  checks that it received as many bytes as the server announced and that
  their checksum is right, and only then renames it into place
  (``os.replace`` is atomic): the destination is either absent or complete;
- a failed download raises ``DownloadError`` whose message says what went
  wrong and what to do; only a machine that really cannot reach the network
  (no name resolution, no route, refused connection) gets ``OfflineError``,
  whose message names the offline dataset of the course to use instead;
- ``safe_extract`` checks every member of a zip or tar archive before writing
  anything, extracts into a temporary folder beside the target and renames
  it into place, so the target is either absent or complete. Any refusal is
  an ``UnsafeArchiveError``; a damaged archive is a ``CorruptArchiveError``.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import lzma
import os
import posixpath
import re
import shutil
import socket
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from mmlearn.report import atomic_file, new_file_mode

__all__ = [
    "ChecksumError",
    "CorruptArchiveError",
    "DownloadError",
    "OfflineError",
    "UnsafeArchiveError",
    "default_data_dir",
    "download_file",
    "safe_extract",
    "sha256_of",
    "verify_sha256",
]

_CHUNK = 1 << 20  # 1 MiB per read: constant memory whatever the file size
_USER_AGENT = "mmlearn-course (+https://pypi.org/project/mmlearn-course/)"

DEFAULT_MAX_BYTES = 2 << 30  # 2 GiB: more than any dataset of the course unpacks to
DEFAULT_MAX_MEMBERS = 100_000  # FSDD has 3,000 files, Flickr8k about 8,100


class ChecksumError(ValueError):
    """A file's checksum differs from the one the course expects."""


class DownloadError(ConnectionError):
    """A download failed or stopped part-way; the message says why and what to do."""


class OfflineError(DownloadError):
    """The network could not be reached at all: most likely the machine has no internet."""


class UnsafeArchiveError(ValueError):
    """An archive was refused: a member would land outside the target folder, or it is too big."""


class CorruptArchiveError(ValueError):
    """An archive is truncated or damaged: delete it and download it again."""


def default_data_dir() -> Path:
    """Where real datasets are cached: ``$MMLEARN_DATA`` if set, else ``~/.cache/mmlearn``."""
    env = os.environ.get("MMLEARN_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mmlearn"


def _hexdigest(path: str | os.PathLike, digest) -> str:
    """Feed a file to a ``hashlib`` object in chunks and return its hex digest."""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file as 64 lowercase hex digits, read in chunks."""
    return _hexdigest(path, hashlib.sha256())


def _check_hex(value: str | None, digits: int, name: str) -> str | None:
    """``value`` in lowercase if it is ``digits`` hexadecimal digits (or None); ValueError naming ``name``."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(rf"[0-9a-fA-F]{{{digits}}}", value):
        raise ValueError(f"{name} must be {digits} hexadecimal digits, got {value!r}")
    return value.lower()


def verify_sha256(path: str | os.PathLike, sha256: str) -> Path:
    """Return ``path`` if its SHA-256 equals ``sha256``; raise ``ChecksumError`` naming both otherwise."""
    expected = _check_hex(sha256, 64, "sha256")
    if expected is None:
        raise ValueError("verify_sha256 needs a checksum, got None")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file to verify at {path}")
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(f"SHA-256 mismatch for {path.name}: expected {expected}, got {actual}")
    return path


# ------------------------------------------------------------------ downloads

# "Network is unreachable", "No route to host", "Network is down": this machine has no way out.
_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN}


def _is_offline(error: object) -> bool:
    """True if ``error`` (an exception or a ``URLError``'s reason) means the network is out of reach.

    Host names that do not resolve or no route to the network: the symptoms
    of a machine without internet. A refused connection is not (a host
    answered: the port is wrong or the server is down), nor is a timeout, a
    connection reset part-way or an HTTP error: the network is there.
    """
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        error = error.reason
    if isinstance(error, socket.gaierror):
        return True
    return isinstance(error, OSError) and error.errno in _NO_ROUTE


def _describe(error: object) -> str:
    return f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)


def _offline_message(url: str, reason: object, offline_hint: str | None) -> str:
    message = f"could not reach {url} ({_describe(reason)}). This machine seems to be offline"
    if isinstance(reason, socket.gaierror):  # the host name did not resolve: maybe it is mistyped
        message += " (if it is online, check the host name in the URL)"
    message += "."
    if offline_hint:
        message += f" Use {offline_hint} instead: it needs no download."
    return message


def _open_failure(url: str, error: object, timeout: float, offline_hint: str | None) -> Exception:
    """The exception that explains why ``urlopen(url)`` failed with ``error``."""
    if isinstance(error, urllib.error.HTTPError):  # the server answered: not a network problem
        advice = "check the URL" if 400 <= error.code < 500 else "the server has a problem, try again later"
        return DownloadError(f"the server answered HTTP {error.code} ({error.reason}) for {url}: {advice}")
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if url.startswith("file:"):  # a local mirror: a missing file is not a network problem
        return FileNotFoundError(f"cannot read {url}: {reason}")
    if _is_offline(reason):
        return OfflineError(_offline_message(url, reason, offline_hint))
    if isinstance(reason, TimeoutError):
        return DownloadError(
            f"{url} did not answer within {timeout} s. Try again later, or pass a larger timeout."
        )
    if isinstance(reason, ConnectionRefusedError):  # a host, or a firewall on the way, said no
        message = (
            f"the connection to {url} was refused: check the host and port in the URL; a firewall or a "
            "machine without internet access can refuse connections too."
        )
        if offline_hint:
            message += f" {offline_hint} needs no download."
        return DownloadError(message)
    return DownloadError(f"could not download {url} ({_describe(reason)}). Try again later.")


def _broken_transfer(url: str, received: int, length: int | None, reason: str) -> DownloadError:
    of = f" of {length:,}" if length is not None else ""
    return DownloadError(
        f"the download of {url} stopped after {received:,}{of} bytes ({reason}). "
        "The partial file was deleted; run the same call again to download it afresh."
    )


def _content_length(response) -> int | None:
    """The size the server announced, or None if it did not (or sent something that is not a number)."""
    value = response.headers.get("Content-Length") if response.headers else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def download_file(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None,
    *,
    md5: str | None = None,
    timeout: float = 60.0,
    offline_hint: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, verified and written atomically; return ``dest``.

    - ``dest`` already present with the right checksum: nothing is downloaded.
      Present with a wrong checksum (damaged, or another version): it is
      replaced by a fresh download; it stays untouched if that download fails.
    - The bytes go to a temporary file in ``dest``'s folder. Only when the
      server sent all the bytes it announced (``Content-Length``) and their
      checksum matches is it renamed to ``dest`` (``os.replace``). On any
      failure the temporary file is deleted: no partial file is ever left.
    - ``md5`` checks sources that publish only an MD5 (MedMNIST): it detects
      damage, not tampering. ``sha256=None`` and no ``md5`` skips
      verification, with a warning that prints the checksum to pin.
    - A failure raises ``DownloadError`` saying what to do; ``OfflineError``
      (a subclass) only when the network is out of reach, and its message
      names ``offline_hint`` (the offline dataset of the course to use instead).
    """
    if not isinstance(url, str) or not url:
        raise ValueError(f"url must be a non-empty string, got {url!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    expected = _check_hex(sha256, 64, "sha256")
    expected_md5 = _check_hex(md5, 32, "md5")
    dest = Path(dest)
    if dest.is_dir():
        raise IsADirectoryError(f"dest must be a file path, but {dest} is a folder")

    # Without a checksum a present file is trusted: this function never leaves a partial one at dest.
    # With one, a damaged copy or another version is downloaded again and replaced atomically.
    if dest.is_file() and (expected is None or sha256_of(dest) == expected):
        if expected_md5 is None or _hexdigest(dest, hashlib.md5(usedforsecurity=False)) == expected_md5:
            return dest

    sha_digest = hashlib.sha256()
    md5_digest = hashlib.md5(usedforsecurity=False)
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except (OSError, http.client.HTTPException) as e:  # URLError and HTTPError are OSErrors too
        raise _open_failure(url, e, timeout, offline_hint) from e
    # Written beside dest and renamed onto it only if every check below passes (see report.atomic_file).
    with response, atomic_file(dest, binary=True) as out:
        length = _content_length(response)
        received = 0
        with tqdm(total=length, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException, EOFError) as e:
                    # a reset, a timeout, or http.client's IncompleteRead: the connection broke
                    raise _broken_transfer(url, received, length, _describe(e)) from e
                if not chunk:
                    break
                out.write(chunk)
                sha_digest.update(chunk)
                md5_digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if length is not None and received != length:  # http.client ends a cut-off body silently
            raise _broken_transfer(url, received, length, "the connection closed early")
        actual = sha_digest.hexdigest()
        if expected is not None and actual != expected:
            raise ChecksumError(
                f"SHA-256 mismatch for {url}: expected {expected}, got {actual}. "
                "The download was deleted; the server may have changed the file."
            )
        if expected_md5 is not None and md5_digest.hexdigest() != expected_md5:
            raise ChecksumError(
                f"MD5 mismatch for {url}: expected {expected_md5}, got {md5_digest.hexdigest()}. "
                "The download was deleted; the server may have changed the file."
            )
    if expected is None and expected_md5 is None:
        warnings.warn(
            f"{dest.name} was downloaded without verification; its SHA-256 is {actual}", stacklevel=2
        )
    return dest


# ---------------------------------------------------------------- extraction
#
# The rule for links, the simplest one that is safe: member names and link targets are followed one
# name at a time, lexically, and may never go *through* a link of the same archive, nor may a link
# point at another link. ``a -> .`` followed by ``a/b -> ..`` and ``a/b/x`` is refused at ``a/b``.
# Without link chains, and extracting into a fresh empty folder, the lexical path is the real path,
# so checking it is enough: no resolution on disk, no dependence on the order of the members.

_LINKS = ("symlink", "hardlink")
# Errors that mean "this archive is damaged": a truncated download, a bad CRC, a broken compressed stream.
_CORRUPT = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)
# Python's own ``data`` filter (3.10.12+, 3.11.4+) runs as a second line of defence; () where it is missing.
_FILTER_ERROR = getattr(tarfile, "FilterError", ())


@dataclass(frozen=True)
class _Member:
    """What the checks need to know about one archive member, tar or zip alike."""

    name: str
    kind: str  # "file", "dir", "symlink", "hardlink" or "other" (devices, fifos)
    link: str = ""  # a link's target as written in the archive


def _key(parts: tuple[str, ...]) -> tuple[str, ...]:
    """Compare names case-insensitively, as the file systems of macOS and Windows do."""
    return tuple(p.casefold() for p in parts)


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or os.path.isabs(path)


def _walk(start: tuple[str, ...], path: str, links: set, what: str, verb: str, dest: Path) -> tuple:
    """Follow ``path`` from the folder ``start`` one name at a time; return where it ends as a tuple of names.

    Refuses (``UnsafeArchiveError``) a path that climbs above the extraction
    folder, and one that goes on from a link of the archive.
    """
    if _is_absolute(path):
        raise UnsafeArchiveError(f"refusing to extract: {what} {verb} outside {dest} (an absolute path)")
    if "\\" in path or ":" in path:  # Windows reads "..\\x" as a climb and "C:x" as another drive
        raise UnsafeArchiveError(
            f"refusing to extract: {what} has a backslash or a colon in its name ({path!r}), "
            "which Windows would read as a folder separator or a drive"
        )
    here = list(start)
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if _key(tuple(here)) in links:
            raise UnsafeArchiveError(
                f"refusing to extract: {what} goes through the link {'/'.join(here)!r}; "
                "links inside links can lead anywhere, so they are refused"
            )
        if part == "..":
            if not here:
                raise UnsafeArchiveError(f"refusing to extract: {what} {verb} outside {dest}")
            here.pop()
        else:
            here.append(part)
    return tuple(here)


def _lexical(name: str) -> tuple[str, ...]:
    """A member name as a key of folder names, ``.`` and ``x/..`` resolved: "./A//b/" -> ("a", "b")."""
    return _key(tuple(part for part in posixpath.normpath(name).split("/") if part != "."))


def _check_members(members: list[_Member], dest: Path) -> None:
    """Refuse the archive if one member could write, or point, outside ``dest``."""
    links = {_lexical(m.name) for m in members if m.kind in _LINKS}
    names = Counter(_lexical(m.name) for m in members)
    files_so_far = set()
    for m in members:
        if m.kind == "other":
            raise UnsafeArchiveError(f"refusing to extract: member {m.name!r} is a device or special file")
        name = _walk((), m.name, links, f"member {m.name!r}", "would be written", dest)
        if not name and m.kind != "dir":
            raise UnsafeArchiveError(f"refusing to extract: member {m.name!r} names the target folder itself")
        if m.kind == "file":
            files_so_far.add(_key(name))
        if m.kind not in _LINKS:
            continue
        what = f"{'symlink' if m.kind == 'symlink' else 'hard link'} {m.name!r} -> {m.link!r}"
        if names[_key(name)] > 1:  # the other member could replace the link after it was checked
            raise UnsafeArchiveError(f"refusing to extract: {what} shares its name with another member")
        # A symlink's target is relative to the folder the link sits in; a hard link's to the archive's root.
        start = name[:-1] if m.kind == "symlink" else ()
        target = _key(_walk(start, m.link, links, what, "points", dest))
        if target in links:
            raise UnsafeArchiveError(f"refusing to extract: {what} points at another link (a link chain)")
        if m.kind == "hardlink" and target not in files_so_far:
            raise UnsafeArchiveError(
                f"refusing to extract: {what} does not point at a regular file earlier in the archive"
            )


def _check_limits(count: int, total: int, max_members: int, max_bytes: int, archive: Path) -> None:
    if count > max_members:
        raise UnsafeArchiveError(
            f"refusing to extract {archive.name}: it has more than max_members={max_members:,} members. "
            "Pass a larger max_members if you trust this archive."
        )
    if total > max_bytes:
        raise UnsafeArchiveError(
            f"refusing to extract {archive.name}: it would expand to more than max_bytes={max_bytes:,} "
            "bytes. Pass a larger max_bytes if you trust this archive."
        )


def _tar_index(tar: tarfile.TarFile, max_members: int, max_bytes: int, archive: Path):
    """The tar's members as ``TarInfo`` and as ``_Member``, read lazily so that limits stop a bomb early."""
    infos, members, total = [], [], 0
    for info in tar:
        infos.append(info)
        total += info.size if info.isfile() else 0
        _check_limits(len(infos), total, max_members, max_bytes, archive)
        if info.isfile():
            members.append(_Member(info.name, "file"))
        elif info.isdir():
            members.append(_Member(info.name, "dir"))
        elif info.issym():
            members.append(_Member(info.name, "symlink", info.linkname))
        elif info.islnk():
            members.append(_Member(info.name, "hardlink", info.linkname))
        else:
            members.append(_Member(info.name, "other"))
    return infos, members


def _zip_index(zf: zipfile.ZipFile, max_members: int, max_bytes: int, archive: Path) -> list[_Member]:
    """The zip's members as ``_Member``; zipfile writes no more than the declared sizes, the limit's basis."""
    infos = zf.infolist()
    _check_limits(len(infos), sum(i.file_size for i in infos), max_members, max_bytes, archive)
    members = []
    for info in infos:
        if stat.S_ISLNK(info.external_attr >> 16):
            # zipfile writes a link as a small file holding its target; refuse links that point out anyway,
            # so that a later unzip tool cannot be tricked by this archive either.
            members.append(_Member(info.filename, "symlink", zf.read(info).decode("utf-8", "replace")))
        else:
            members.append(_Member(info.filename, "dir" if info.is_dir() else "file"))
    return members


def _extract_into_place(extract, dest: Path) -> None:
    """Run ``extract(folder)`` on a fresh folder beside ``dest``, then rename that folder to ``dest``.

    Beside ``dest`` means on the same file system, where the rename is one
    atomic step. On any failure the temporary folder is deleted.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial"))
    try:
        extract(str(staging))
        os.chmod(staging, new_file_mode(folder=True))  # mkdtemp makes it private (0700)
        if dest.is_dir():
            dest.rmdir()  # the empty folder the caller named (rmdir fails if something appeared in it)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _archive_kind(archive: Path) -> str:
    """ "zip" or "tar", from the first bytes, so that a truncated archive is recognised (and called so)."""
    with open(archive, "rb") as f:
        head = f.read(6)
    if head.startswith(b"PK") or zipfile.is_zipfile(archive):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")) or tarfile.is_tarfile(archive):  # gz, bz2, xz
        return "tar"
    raise ValueError(
        f"{archive.name} is neither a zip nor a tar archive. If it was downloaded, delete it and download it "
        "again."
    )


def safe_extract(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Path:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into ``dest`` and return ``dest``; all or nothing.

    ``dest`` must not exist yet, or be an empty folder (``FileExistsError``
    otherwise). Every member is checked before anything is written, and the
    whole archive is refused with ``UnsafeArchiveError`` if one of them

    - would be written outside ``dest`` (an absolute path, ``..``),
    - is a symlink or hard link pointing outside ``dest``, a link pointing at
      another link, or a member whose path goes through a link (links are
      never followed: that is the simple rule that makes link chains such as
      ``a -> .``, ``a/b -> ..``, ``a/b/x`` harmless), or a hard link to
      anything but a regular file earlier in the archive,
    - is a device or other special file,
    - takes the archive past ``max_members`` members or ``max_bytes`` bytes
      once uncompressed (a small "zip bomb" can expand to gigabytes).

    The members are then extracted into a temporary folder beside ``dest``,
    renamed to ``dest`` in one step; on any failure nothing is left behind.
    Tar archives go through Python's ``filter='data'`` where it exists, a
    second line of defence. A truncated or damaged archive raises
    ``CorruptArchiveError``: delete it and download it again.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"no archive at {archive}")
    for value, name in ((max_bytes, "max_bytes"), (max_members, "max_members")):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    dest = Path(dest)
    if dest.is_symlink() or (dest.exists() and not (dest.is_dir() and not any(dest.iterdir()))):
        raise FileExistsError(
            f"dest {dest} already exists and is not an empty folder; extraction replaces dest as a whole, "
            "so delete it first or choose another folder"
        )
    kind = _archive_kind(archive)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                _check_members(_zip_index(zf, max_members, max_bytes, archive), dest)
                _extract_into_place(zf.extractall, dest)
        else:
            with tarfile.open(archive) as tf:
                infos, members = _tar_index(tf, max_members, max_bytes, archive)
                _check_members(members, dest)
                if hasattr(tarfile, "data_filter"):
                    _extract_into_place(lambda folder: tf.extractall(folder, infos, filter="data"), dest)
                else:  # Python without extraction filters: our own checks above have already run
                    _extract_into_place(lambda folder: tf.extractall(folder, infos), dest)
    except _FILTER_ERROR as e:
        raise UnsafeArchiveError(f"refusing to extract {archive.name}: {e}") from e
    except _CORRUPT as e:
        raise CorruptArchiveError(
            f"{archive} is damaged or truncated ({_describe(e)}); nothing was extracted. "
            "Delete it and download it again."
        ) from e
    return dest
