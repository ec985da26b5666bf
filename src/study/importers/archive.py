"""Opening an export: a zip or a folder, files at its root or under one folder, split tables.

``Name.csv``, ``Name_1.csv``, ... are one table; names are matched case-insensitively on the
file's base name, so ``messages.csv`` and ``Messages.csv`` are the same table.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from study.errors import StudyError
from study.importers.base import SourceFile

#: Largest single file read from an export (LinkedIn's biggest tables stay far below).
MAX_FILE_BYTES = 512 * 1024 * 1024


class Archive:
    """The files of one export by relative path (lower-cased keys), and the export's name."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name
        self.files: dict[str, SourceFile] = {}
        if not self.path.exists():
            raise StudyError(f"{path}: no such file or folder")
        if self.path.is_dir():
            for p in sorted(self.path.rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    rel = p.relative_to(self.path).as_posix()
                    if p.stat().st_size > MAX_FILE_BYTES:
                        raise StudyError(f"{p}: larger than {MAX_FILE_BYTES >> 20} MiB")
                    self.files[rel] = SourceFile(f"{self.name}/{rel}", p.read_bytes())
        else:
            try:
                with zipfile.ZipFile(self.path) as zf:
                    for info in zf.infolist():
                        if info.is_dir() or Path(info.filename).name.startswith("."):
                            continue
                        if info.file_size > MAX_FILE_BYTES:
                            raise StudyError(f"{self.name}:{info.filename}: too large")
                        self.files[info.filename] = SourceFile(
                            f"{self.name}:{info.filename}", zf.read(info)
                        )
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                raise StudyError(
                    f"{self.path}: not a readable zip file or folder ({exc})"
                ) from None
            except RuntimeError as exc:  # encrypted members
                raise StudyError(f"{self.path}: {exc}") from None

    def table(self, pattern: str) -> list[SourceFile]:
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
