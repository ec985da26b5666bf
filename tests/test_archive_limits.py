"""Archives are read lazily and within limits: members the importer does not use are never
read, a zip bomb and an export too large in total are refused in one line, and so are an
unreadable file and a symlink to a device in an unpacked folder (issue 18, defects 6 and 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import study
from study.errors import StudyError
from study.importers import archive as archive_module
from study.importers.archive import Archive
from tests.export_fixtures import CONNECTIONS_2026, linkedin_files, write_folder, write_zip

MIB = 1 << 20


def zeros_zip(path: Path, members: dict[str, int], extra: dict[str, bytes] | None = None) -> Path:
    """A zip of members of ``n`` MiB of one repeated byte each (a few KiB compressed)."""
    block = b"0" * MIB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        for name, mib in members.items():
            with zf.open(name, "w", force_zip64=True) as fh:
                for _ in range(mib):
                    fh.write(block)
    return path


def one_line(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr[-2000:]
    for needle in needles:
        assert needle in res.stderr, res.stderr


PEAK = (
    "import resource, sys\n"
    "from study.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stderr.write(f'peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n"
    "raise SystemExit(code)\n"
)


def test_members_the_importer_does_not_use_are_never_read(tmp_path, db_path):
    """Defect 6: every member was read, used or not (8 x 500 MiB: 4.6 GB, 54 s); here
    8 x 64 MiB of tables LinkedIn's importer does not read, beside a real Connections.csv."""
    study.init(db_path).close()
    zipped = zeros_zip(
        tmp_path / "Complete_LinkedInDataExport_11-21-2026.zip",
        {f"Ad_Targeting_{i}.csv": 64 for i in range(8)},
        extra={"Connections.csv": CONNECTIONS_2026.encode()},
    )
    assert zipped.stat().st_size < 4 * MIB
    res = subprocess.run(
        [sys.executable, "-c", PEAK, "import", "linkedin", str(zipped), "--dry-run"]
        + ["--no-progress", "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "5 events added" in res.stdout
    peak_kib = int(res.stderr.rsplit("peak ", 1)[1])
    assert peak_kib < 300 * 1024, peak_kib  # 512 MiB were read before


def test_a_zip_bomb_among_the_used_tables_is_refused_before_it_is_inflated(tmp_path, db_path):
    study.init(db_path).close()
    tables = {k: v for k, v in linkedin_files().items() if k != "messages.csv"}
    zipped = zeros_zip(tmp_path / "export.zip", {"messages.csv": 64}, extra=tables)
    res = subprocess.run(
        [sys.executable, "-c", PEAK, "import", "linkedin", str(zipped), "--dry-run"]
        + ["--no-progress", "--db", str(db_path), "--export-date", "2026-11-21"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    peak_kib = int(res.stderr.rsplit("peak ", 1)[1])
    res.stderr = res.stderr.rsplit("peak ", 1)[0]
    one_line(res, "export.zip:messages.csv", "zip bomb")
    assert peak_kib < 300 * 1024, peak_kib
    assert study.open(db_path).count() == 0


def test_the_total_read_from_one_export_is_capped(tmp_path, monkeypatch):
    zipped = write_zip(tmp_path / "a.zip", {"Connections.csv": b"x" * 3000, "messages.csv": b"y"})
    monkeypatch.setattr(archive_module, "MAX_TOTAL_BYTES", 2000)
    a = Archive(zipped)
    with pytest.raises(StudyError, match=r"a.zip:Connections.csv: the files read from a.zip"):
        _ = a.table("connections")[0].data
    folder = write_folder(
        tmp_path / "f", {"Connections.csv": b"x" * 1500, "messages.csv": b"y" * 600}
    )
    a = Archive(folder)
    assert len(a.table("connections")[0].data) == 1500
    with pytest.raises(StudyError, match="f/messages.csv: the files read from f exceed 0 MiB"):
        _ = a.table("messages")[0].data


def test_unreadable_and_special_files_in_a_folder_are_one_line(tmp_path, db_path):
    """Defect 9: an unreadable file, or a symlink to a special file, in a LinkedIn folder was
    a traceback. Files the importer does not use are not even opened."""
    study.init(db_path).close()
    folder = write_folder(tmp_path / "export", linkedin_files())
    (folder / "Ad_Targeting.csv").symlink_to("/dev/zero")  # never read: not a table it uses
    os.mkfifo(folder / "Rich_Media.csv")
    base = ["import", "linkedin", str(folder), "--db", str(db_path), "--no-progress"]
    base += ["--export-date", "2026-11-21", "--dry-run"]
    run = [sys.executable, "-m", "study.cli.main", *base]
    assert subprocess.run(run, capture_output=True, text=True, timeout=120).returncode == 0
    (folder / "messages.csv").unlink()
    (folder / "messages.csv").symlink_to("/dev/zero")
    res = subprocess.run(run, capture_output=True, text=True, timeout=120)
    one_line(res, "export/messages.csv: not a regular file")
    (folder / "messages.csv").unlink()
    (folder / "messages.csv").write_text("From,To\n")
    os.chmod(folder / "messages.csv", 0)
    unprivileged = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    res = subprocess.run(
        [*(unprivileged if os.geteuid() == 0 else []), *run],
        capture_output=True,
        text=True,
        timeout=120,
    )
    one_line(res, "export/messages.csv: cannot read it (Permission denied)")
    assert study.open(db_path).count() == 0
