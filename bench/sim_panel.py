"""The simulator's panel for the analysis rows of ``bench/run``, built once and cached.

``study.simulate.run`` writes the panel (1,000 participants x 24 months for the full size)
through the validated write path into a SQLite file under ``bench/.cache/``, named by the
participants, months, seed and a hash of the simulator's parameters and the end month: a
changed simulator or setting builds a new file, the same ones reuse it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
SEED = 7
#: A fixed end month, so the cache does not change with the calendar.
END = dt.date(2026, 6, 30)


def _key(participants: int, months: int, seed: int) -> str:
    from dataclasses import asdict

    from study.simulate import Params

    doc = json.dumps(
        {"params": asdict(Params()), "end": END.isoformat()}, sort_keys=True, default=str
    )
    digest = hashlib.sha256(doc.encode()).hexdigest()[:12]
    return f"panel-p{participants}-m{months}-s{seed}-{digest}.db"


def panel_db(participants: int, months: int = 24, seed: int = SEED) -> Path:
    """The cached panel's SQLite file (built first if missing; an interrupted build is redone)."""
    from study.simulate import Params, run

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / _key(participants, months, seed)
    if path.exists():
        return path
    part = path.with_suffix(f".part{os.getpid()}")
    try:
        run(Params(), seed, part, participants=participants, months=months, end=END)
        # fold the WAL into the file, so a copy of the one file is the whole study
        import sqlite3

        con = sqlite3.connect(part)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode = DELETE")
        con.close()
        shutil.move(part, path)
    finally:
        for p in CACHE.glob(f"{part.name}*"):
            p.unlink()
    return path
