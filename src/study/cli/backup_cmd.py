"""``study backup DEST`` and ``study restore SRC`` (see study/backup.py for how)."""

from __future__ import annotations

import argparse
from typing import Any

from study.cli.base import add_command, open_study


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "backup",
        help="write a consistent copy of the study to a SQLite file (safe while others write)",
        examples="  study backup backups/study-2026-11-21.db\n"
        "  study backup --db postgresql+psycopg://team@db.example/study team-backup.db",
    )
    p.add_argument("dest", help="the backup file to write (owner-only; it holds names)")
    p.add_argument("--force", action="store_true", help="replace DEST if it exists")
    p.set_defaults(func=run_backup)

    r = add_command(
        sub,
        "restore",
        help="replace the study by a backup (refuses a study with data unless --force)",
        examples="  study restore backups/study-2026-11-21.db\n"
        "  study restore team-backup.db --db data/copy.db",
    )
    r.add_argument("src", help="a file written by `study backup`")
    r.add_argument(
        "--force", action="store_true", help="replace a study that already has events or contacts"
    )
    r.set_defaults(func=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    from study.backup import backup

    s = open_study(args)
    summary = backup(s, args.dest, force=args.force)
    print(f"backed up {s.name} to {args.dest}: {summary.describe()}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from study import store
    from study.backup import restore

    url = store.resolve_url(getattr(args, "db", None))
    summary = restore(url, args.src, force=args.force)
    print(f"restored {args.src} into {store.describe(url)}: {summary.describe()}")
    if summary.reapplied_erasures:
        print(f"forgot again {summary.reapplied_erasures} contact(s) erased after that backup")
    for path in summary.files_deleted:
        print(f"  deleted {path} (written with names; run the report again to regenerate it)")
    for warning in summary.warnings:
        print(f"  warning: {warning}")
    return 0
