"""Files that may hold names: private from their first byte, and complete or absent.

Every file the toolkit writes with personal data (exports, annotation sheets, backups, reports)
is written through :func:`private_file` or :func:`private_path`: a temporary file beside the
target, with a random name, created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 (so
neither the umask nor a symlink planted at that name can widen it or send the bytes elsewhere),
written and flushed to disk, then renamed over the target. A failure removes the temporary
file: nothing half-written, and nothing readable by others, stays behind. Folders made for such
files are 0700. Decisions: docs/privacy.md.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from study.errors import StudyError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC


def write_error(path: str | os.PathLike[str], exc: OSError, verb: str = "write") -> StudyError:
    """One line for a file the system refused (full disk, file-size limit, permissions)."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "the disk is full (or your quota is used up)"
    elif exc.errno == errno.EFBIG:
        reason = "larger than the file-size limit (ulimit -f)"
    return StudyError(f"cannot {verb} {path}: {reason}")


def target_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """``path`` as a file to write: refuse a folder and a missing parent folder (one line)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise StudyError(f"{path}: is a folder; give the name of the {what} to write")
    if target.exists() and not target.is_file():  # never rename over /dev/null or a FIFO
        raise StudyError(f"{path}: is a device or special file, not a {what}")
    if not target.parent.is_dir():
        problem = "is not a folder" if target.parent.exists() else "does not exist"
        raise StudyError(f"{path}: the folder {target.parent} {problem}")
    return target


def private_dir(path: str | os.PathLike[str], *, mode: int = PRIVATE_DIR) -> Path:
    """Make the folder ``path`` (and missing parents, owner-only) if it does not exist; a
    folder that exists is left as it is. Refuses a path that is a file."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise StudyError(f"{path}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=mode)
    except (FileExistsError, NotADirectoryError):  # a file, or a dangling symlink, in the way
        raise StudyError(f"{path}: is not a folder (a file is in the way)") from None
    except OSError as exc:
        raise write_error(path, exc) from None
    return folder


def _exclusive(target: Path) -> tuple[Path, int]:
    """A new temporary file beside ``target``, created owner-only and never through a link."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        try:
            return tmp, os.open(tmp, _FLAGS, PRIVATE_FILE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise write_error(target, exc) from None
    raise StudyError(f"cannot write {target}: no free temporary name beside it")


@contextmanager
def private_path(path: str | os.PathLike[str], *, mode: int = PRIVATE_FILE) -> Iterator[Path]:
    """A temporary file (empty, 0600) for a writer that needs a path (SQLite); renamed onto
    ``path`` (with ``mode``) when the block ends without an error, else removed."""
    target = target_file(path)
    tmp, fd = _exclusive(target)
    os.close(fd)
    try:
        yield tmp
        if mode != PRIVATE_FILE:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def private_file(
    path: str | os.PathLike[str],
    *,
    text: bool = False,
    encoding: str = "utf-8",
    newline: str | None = None,
    mode: int = PRIVATE_FILE,
) -> Iterator[IO[Any]]:
    """An open file (binary, or ``text``) whose bytes land at ``path`` only when the block
    ends without an error: written to a private temporary file, synced, then renamed."""
    target = target_file(path)
    tmp, fd = _exclusive(target)
    try:
        if text:
            fh: IO[Any] = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        else:
            fh = os.fdopen(fd, "wb")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if mode != PRIVATE_FILE:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
