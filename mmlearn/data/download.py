"""Safe downloads and archive extraction for the opt-in real datasets.

No lesson downloads anything: every lesson runs on generated data. A student
who wants the real datasets opts in, and then three things can go wrong
quietly: a download stops half-way and leaves a truncated file that later
looks complete, the server sends different bytes than the course was written
for, or an archive contains a member such as ``../../.bashrc`` that writes
outside the target folder ("zip slip"). This module closes each of them:

- ``download_file`` streams to a temporary file beside the destination,
  checks its SHA-256 and only then renames it into place (``os.replace`` is
  atomic), so the destination is either absent or complete and verified;
- ``safe_extract`` checks every member of a zip or tar archive before writing
  anything, and refuses the whole archive if one member would land outside
  the target folder;
- a machine without internet gets a message that says so and names the
  offline dataset of the course to use instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

__all__ = [
    "ChecksumError",
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


class ChecksumError(ValueError):
    """A file's SHA-256 differs from the one the course expects."""


class OfflineError(ConnectionError):
    """The server could not be reached: most likely the machine has no internet."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder."""


def default_data_dir() -> Path:
    """Where real datasets are cached: ``$MMLEARN_DATA`` if set, else ``~/.cache/mmlearn``."""
    env = os.environ.get("MMLEARN_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mmlearn"


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file as 64 lowercase hex digits, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256_text(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    return sha256.lower()


def verify_sha256(path: str | os.PathLike, sha256: str) -> Path:
    """Return ``path`` if its SHA-256 equals ``sha256``; raise ``ChecksumError`` naming both otherwise."""
    expected = _check_sha256_text(sha256)
    if expected is None:
        raise ValueError("verify_sha256 needs a checksum, got None")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file to verify at {path}")
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(f"SHA-256 mismatch for {path.name}: expected {expected}, got {actual}")
    return path


def _offline_message(url: str, reason: object, offline_hint: str | None) -> str:
    message = f"could not reach {url} ({reason}). This machine seems to be offline."
    if offline_hint:
        message += f" Use {offline_hint} instead: it needs no download."
    return message


def download_file(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None,
    *,
    timeout: float = 60.0,
    offline_hint: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, verified and written atomically; return ``dest``.

    - ``dest`` already present with the right SHA-256: nothing is downloaded.
    - The bytes go to a temporary file in ``dest``'s folder; only after their
      SHA-256 matches is it renamed to ``dest`` (``os.replace``). On any failure
      the temporary file is deleted, so no partial file is ever left behind.
    - ``sha256=None`` skips verification (with a warning that prints the
      actual checksum, so that it can be pinned).
    - A network failure raises ``OfflineError`` whose message names
      ``offline_hint`` (the offline dataset of the course to use instead).
    """
    if not isinstance(url, str) or not url:
        raise ValueError(f"url must be a non-empty string, got {url!r}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    expected = _check_sha256_text(sha256)
    dest = Path(dest)
    if dest.is_dir():
        raise IsADirectoryError(f"dest must be a file path, but {dest} is a folder")

    if dest.is_file():
        if expected is None or sha256_of(dest) == expected:
            return dest  # already downloaded and (when a checksum is known) verified
        # A stale or corrupted copy: download again and replace it atomically.

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as e:  # the server answered: not an offline problem
            raise ConnectionError(f"the server answered HTTP {e.code} ({e.reason}) for {url}") from e
        except urllib.error.URLError as e:
            if url.startswith("file:"):  # a local mirror: a missing file is not a network problem
                raise FileNotFoundError(f"cannot read {url}: {e.reason}") from e
            raise OfflineError(_offline_message(url, e.reason, offline_hint)) from e
        except (TimeoutError, ConnectionError) as e:
            raise OfflineError(_offline_message(url, e, offline_hint)) from e
        with response, os.fdopen(fd, "wb") as out:
            fd = None  # now owned (and closed) by ``out``
            total = response.headers.get("Content-Length") if response.headers else None
            bar = tqdm(
                total=int(total) if total else None,
                unit="B",
                unit_scale=True,
                desc=dest.name,
                disable=not progress,
            )
            with bar:
                try:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
                except (TimeoutError, ConnectionError, urllib.error.URLError) as e:
                    raise OfflineError(_offline_message(url, f"connection lost: {e}", offline_hint)) from e
        actual = digest.hexdigest()
        if expected is None:
            warnings.warn(
                f"{dest.name} was downloaded without verification; its SHA-256 is {actual}", stacklevel=2
            )
        elif actual != expected:
            raise ChecksumError(
                f"SHA-256 mismatch for {url}: expected {expected}, got {actual}. "
                "The download was deleted; the server may have changed the file."
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a dataset is readable like any downloaded file
        os.replace(tmp, dest)
    except BaseException:
        if fd is not None:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return dest


# ---------------------------------------------------------------- extraction


def _inside(path: str, root: str) -> bool:
    """True if the absolute, normalised ``path`` is ``root`` or lies below it."""
    return os.path.commonpath([path, root]) == root


def _target(root: str, name: str) -> str:
    """Where member ``name`` would land; an absolute name ignores ``root``, as in ``os.path.join``."""
    return os.path.realpath(os.path.join(root, name))


def _check_tar(tar: tarfile.TarFile, root: str) -> None:
    for member in tar.getmembers():
        target = _target(root, member.name)
        if not _inside(target, root):
            raise UnsafeArchiveError(
                f"refusing to extract: member {member.name!r} would be written outside {root}"
            )
        if member.issym():
            # A symbolic link's target is relative to the folder the link sits in.
            link = os.path.realpath(os.path.join(os.path.dirname(target), member.linkname))
            if os.path.isabs(member.linkname) or not _inside(link, root):
                raise UnsafeArchiveError(
                    f"refusing to extract: symlink {member.name!r} -> {member.linkname!r} "
                    f"points outside {root}"
                )
        elif member.islnk():
            # A hard link's target is a path inside the archive, relative to the extraction folder.
            link = _target(root, member.linkname)
            if os.path.isabs(member.linkname) or not _inside(link, root):
                raise UnsafeArchiveError(
                    f"refusing to extract: hard link {member.name!r} -> {member.linkname!r} "
                    f"points outside {root}"
                )
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(
                f"refusing to extract: member {member.name!r} is a device or special file"
            )


def _check_zip(archive: zipfile.ZipFile, root: str) -> None:
    for info in archive.infolist():
        target = _target(root, info.filename)
        if not _inside(target, root):
            raise UnsafeArchiveError(
                f"refusing to extract: member {info.filename!r} would be written outside {root}"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            # zipfile writes a link as a small file holding its target; refuse links that point out anyway,
            # so that a later unzip tool cannot be tricked by this archive either.
            linkname = archive.read(info).decode("utf-8", "replace")
            link = os.path.realpath(os.path.join(os.path.dirname(target), linkname))
            if os.path.isabs(linkname) or not _inside(link, root):
                raise UnsafeArchiveError(
                    f"refusing to extract: symlink {info.filename!r} -> {linkname!r} points outside {root}"
                )


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into ``dest`` and return ``dest``.

    Every member is checked first; if any would be written outside ``dest``
    (an absolute path, ``..``, a symlink or hard link pointing out, a device
    file) ``UnsafeArchiveError`` is raised and nothing at all is written.
    Tar archives are then extracted with Python's ``filter='data'`` where it
    exists, a second line of defence.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"no archive at {archive}")
    dest = Path(dest)
    root = os.path.realpath(dest)

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _check_zip(zf, root)
            dest.mkdir(parents=True, exist_ok=True)
            zf.extractall(root)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            _check_tar(tf, root)
            dest.mkdir(parents=True, exist_ok=True)
            if hasattr(tarfile, "data_filter"):
                tf.extractall(root, filter="data")
            else:  # Python without extraction filters: our own check above has already run
                tf.extractall(root)
    else:
        raise ValueError(f"{archive.name} is neither a zip nor a tar archive")
    return dest
