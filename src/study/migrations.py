"""In-place schema upgrades: one function per step, from the version before to the next.

A database records its schema version in ``study_meta``; :func:`ensure_schema` (run when a
study is opened) creates the schema, refuses a newer one, and calls :func:`upgrade` for an
older one. Each step runs in its own transaction, under
the write lock (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL table lock), and re-reads the version
inside it, so two processes opening an old study at once upgrade it once.

Versions:

1. the foundation's schema.
2. ``erasures`` and ``named_files`` (``study forget``, docs/privacy.md); on PostgreSQL the
   events' attributes become ``jsonb`` (comparable and indexable; ``json`` has no equality).
3. the index on the events' kind gives way to an index of the job-lead rows by participant
   (the one lookup that used it; inserts no longer pay for it).
4. ``events.supersedes``: a correction names the event it replaces (unique: one correction
   per event), and an index of the metric rows by participant (the rule "one value per metric,
   platform and period"). Events logged before carry no key of their content
   (``source_key`` stays empty), so a re-run of a command that logged one of them adds it again
   once; from then on it is a no-op.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable

from sqlalchemy import inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from study import store
from study.errors import DatabaseError


def _v1_to_v2(conn: Connection) -> None:
    from study.store import erasures, named_files

    erasures.create(conn, checkfirst=True)
    named_files.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "ALTER TABLE events ALTER COLUMN attributes TYPE jsonb USING attributes::jsonb"
        )


def _v2_to_v3(conn: Connection) -> None:
    from study.store import JOB_LEADS_INDEX

    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_events_kind")
    conn.execute(JOB_LEADS_INDEX)


def _v3_to_v4(conn: Connection) -> None:
    from study.store import METRICS_INDEX

    kind = "BIGINT" if conn.dialect.name == "postgresql" else "INTEGER"
    conn.exec_driver_sql(f"ALTER TABLE events ADD COLUMN supersedes {kind}")
    conn.execute(store.SUPERSEDES_INDEX)
    conn.execute(METRICS_INDEX)


#: MIGRATIONS[n] upgrades a database at version n to version n + 1.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}


def upgrade(engine: Engine, version: int) -> None:
    """Bring a database from ``version`` to the current schema version, step by step."""
    from study.store import SCHEMA_VERSION, study_meta

    while version < SCHEMA_VERSION:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("LOCK TABLE study_meta IN EXCLUSIVE MODE")
            current = int(
                conn.execute(
                    select(study_meta.c.value).where(study_meta.c.key == "schema_version")
                ).scalar_one()
            )
            if current > version:  # another process did this step meanwhile
                version = current
                continue
            step = MIGRATIONS.get(version)
            if step is None:
                raise DatabaseError(f"no upgrade known from schema version {version}")
            step(conn)
            conn.execute(
                update(study_meta)
                .where(study_meta.c.key == "schema_version")
                .values(value=str(version + 1))
            )
        version += 1


def ensure_schema(
    engine: Engine, url: str, *, create: bool, timezone: str | None = None
) -> dict[str, str]:
    """Check (or create) the schema; refuse a database written by a newer toolkit.

    The check only reads (so a read-only copy of a study can be opened); creating takes the
    write lock, and on PostgreSQL an advisory lock, so two ``study init`` at once are safe.
    """
    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            meta = store.read_meta(conn) if inspect(conn).has_table("study_meta") else None
        if meta is None:
            if not create:
                raise DatabaseError(f"no study at {store.describe(url)} (run `study init` first)")
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727271)")
                if not inspect(conn).has_table("study_meta"):
                    store.metadata.create_all(conn)
                    now = dt.datetime.now(dt.UTC)
                    conn.execute(
                        store.study_meta.insert(),
                        [
                            {"key": "schema_version", "value": str(store.SCHEMA_VERSION)},
                            {"key": "pseudonym_key", "value": secrets.token_hex(32)},
                            {"key": "created_at", "value": now.isoformat()},
                            {
                                "key": "timezone",
                                "value": timezone or os.environ.get("STUDY_TZ") or "Europe/Berlin",
                            },
                        ],
                    )
                meta = store.read_meta(conn)
    except DatabaseError:
        raise
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open {store.describe(url)}: {store._short(exc)}") from None
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError:
        raise DatabaseError(f"{store.describe(url)} has an unreadable schema version") from None
    if version > store.SCHEMA_VERSION:
        raise DatabaseError(
            f"{store.describe(url)} has schema version {version}, newer than this toolkit knows "
            f"({store.SCHEMA_VERSION}); upgrade the study package"
        )
    if version < store.SCHEMA_VERSION:
        try:
            upgrade(engine, version)
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"cannot upgrade {store.describe(url)} from schema version {version}: {store._short(exc)}"
            ) from None
        meta["schema_version"] = str(store.SCHEMA_VERSION)
    return meta
