"""Opening an export: a zip or a folder, files at its root or under one folder, split tables.

``Name.csv``, ``Name_1.csv``, ... are one table; names are matched case-insensitively on the
file's base name, so ``messages.csv`` and ``Messages.csv`` are the same table.

Members are read lazily: only the tables an importer asks for are read (LinkedIn's archive
holds dozens of files it does not use), each within limits on its size, on the total read
from one archive, and on how much a zip member expands (a zip bomb is refused before it is
inflated). A folder's files are read only if they are regular files (a symlink to a device
or a FIFO would never end); each refusal is one line naming the file.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from functools import cached_property
from pathlib import Path

from study.errors import StudyError

#: Largest single file read from an export (LinkedIn's biggest tables stay far below).
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Largest total read from one export: the tables an importer uses, together.
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
#: Largest expansion of a zip member (uncompressed / compressed); CSV text stays near 10.
MAX_RATIO = 200
#: Most files in an export's folder (LinkedIn's archive holds a few dozen).
MAX_FILES = 10_000
#: Members smaller than this are never refused for their ratio (a short file of one repeated
#: character compresses very well, and is harmless).
RATIO_FROM_BYTES = 1024 * 1024


class Member:
    """One file of an export, read when its bytes are first asked for (a ``SourceFile``)."""

    def __init__(self, archive: Archive, rel: str, name: str):
        self.archive, self.rel, self.name = archive, rel, name

    @cached_property
    def data(self) -> bytes:
        return self.archive.read(self.rel)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class Archive:
    """The files of one export by relative path, read on demand, and the export's name."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name
        self.files: dict[str, Member] = {}
        self.bytes_read = 0
        self._zip: zipfile.ZipFile | None = None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        if not self.path.exists():
            raise StudyError(f"{path}: no such file or folder")
        if self.path.is_dir():
            for rel in self._listing():
                self.files[rel] = Member(self, rel, f"{self.name}/{rel}")
            return
        if not self.path.is_file():  # a device (/dev/zero) or FIFO: zipfile would read on
            raise StudyError(f"{path}: not a zip file or folder (a device or special file)")
        try:
            self._zip = zipfile.ZipFile(self.path)
            for info in self._zip.infolist():
                if info.is_dir() or Path(info.filename).name.startswith("."):
                    continue
                self._infos[info.filename] = info
                self.files[info.filename] = Member(
                    self, info.filename, f"{self.name}:{info.filename}"
                )
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
            raise StudyError(f"{self.path}: not a readable zip file or folder ({exc})") from None

    def _listing(self) -> list[str]:
        """The folder's files (not following links to folders), at most MAX_FILES of them: a
        folder holding more is not an export (``study import linkedin /`` would read a disk)."""
        found: list[str] = []
        for top, dirs, names in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if not name.startswith("."):
                    found.append((Path(top) / name).relative_to(self.path).as_posix())
            if len(found) > MAX_FILES:
                raise StudyError(
                    f"{self.path}: more than {MAX_FILES:,} files; not an export's folder"
                )
        return sorted(found)

    # reading -----------------------------------------------------------------------------
    def read(self, rel: str) -> bytes:
        """The bytes of one member, within the limits (one line naming it otherwise)."""
        data = self._read_zip(rel) if self._zip is not None else self._read_file(rel)
        self.bytes_read += len(data)
        if self.bytes_read > MAX_TOTAL_BYTES:
            raise StudyError(
                f"{self.files[rel].name}: the files read from {self.name} exceed "
                f"{MAX_TOTAL_BYTES >> 20} MiB together; refusing the export"
            )
        return data

    def _budget(self) -> int:
        return min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - self.bytes_read)

    def _read_file(self, rel: str) -> bytes:
        p = self.path / rel
        shown = self.files[rel].name
        try:
            info = p.stat()
            if not stat.S_ISREG(info.st_mode):
                raise StudyError(f"{shown}: not a regular file (a device, FIFO or socket)")
            if info.st_size > MAX_FILE_BYTES:
                raise StudyError(f"{shown}: larger than {MAX_FILE_BYTES >> 20} MiB")
            with open(p, "rb") as fh:
                data = fh.read(self._budget() + 1)
        except OSError as exc:
            raise StudyError(f"{shown}: cannot read it ({exc.strerror or exc})") from None
        if len(data) > MAX_FILE_BYTES:  # a file that grew, or one that lies about its size
            raise StudyError(f"{shown}: larger than {MAX_FILE_BYTES >> 20} MiB")
        return data  # at most one byte over the total: read() refuses it

    def _read_zip(self, rel: str) -> bytes:
        assert self._zip is not None
        info = self._infos[rel]
        shown = self.files[rel].name
        if info.file_size > MAX_FILE_BYTES:
            raise StudyError(f"{shown}: too large ({info.file_size >> 20} MiB uncompressed)")
        if info.file_size >= RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise StudyError(
                f"{shown}: expands {info.file_size // max(info.compress_size, 1)} times "
                f"(more than {MAX_RATIO}); refusing what looks like a zip bomb"
            )
        if info.file_size > self._budget():
            raise StudyError(
                f"{shown}: the files read from {self.name} would exceed "
                f"{MAX_TOTAL_BYTES >> 20} MiB together; refusing the export"
            )
        try:
            with self._zip.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
            raise StudyError(f"{shown}: cannot read it ({exc})") from None
        except RuntimeError as exc:  # encrypted members
            raise StudyError(f"{shown}: {exc}") from None
        if len(data) > info.file_size:
            raise StudyError(f"{shown}: holds more than its declared size; refusing it")
        return data

    # finding tables ----------------------------------------------------------------------
    def table(self, pattern: str) -> list[Member]:
        """The parts of a split table whose base name matches ``pattern`` (a regex, without
        the ``_N`` suffix and ``.csv``), in order: ``Name.csv``, ``Name_1.csv``, ..."""
        rx = re.compile(rf"(?:{pattern})(?:_(\d+))?\.csv", re.IGNORECASE)
        found = []
        for rel, sf in self.files.items():
            parts = rel.split("/")
            # at the root, under one folder, or (Jobs/) one folder deeper
            if len(parts) > 3:
                continue
            m = rx.fullmatch(parts[-1])
            if m:
                found.append((len(parts), int(m.group(1) or 0), rel, sf))
        found.sort(key=lambda t: (t[1], t[2]))
        return [sf for *_, sf in found]
