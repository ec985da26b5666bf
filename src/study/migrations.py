"""In-place schema upgrades: one function per step, from the version before to the next.

A database records its schema version in ``study_meta``; :func:`study.store.ensure_schema`
calls :func:`upgrade` when it finds an older one. Each step runs in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.engine import Connection, Engine

from study.errors import DatabaseError

#: MIGRATIONS[n] upgrades a database at version n to version n + 1.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


def upgrade(engine: Engine, version: int) -> None:
    """Bring a database from ``version`` to the current schema version, step by step."""
    from study.store import SCHEMA_VERSION, study_meta

    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise DatabaseError(f"no upgrade known from schema version {version}")
        with engine.begin() as conn:
            step(conn)
            conn.execute(
                update(study_meta)
                .where(study_meta.c.key == "schema_version")
                .values(value=str(version + 1))
            )
        version += 1
