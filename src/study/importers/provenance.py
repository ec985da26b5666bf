"""The importers' own tables: which file each imported event came from, and snapshots.

Kept apart from the core schema (created on the first import, ``CREATE TABLE IF NOT EXISTS``),
so the event log itself is unchanged:

* ``import_files``: one row per imported file (participant, importer, name, SHA-256, size,
  export date, when imported). The same bytes imported again reuse their row.
* ``import_rows``: for every event an import added, the file and the line it came from, keyed
  by the event's (source, source_key). So every number in a report traces back to a row.
* ``import_snapshots`` / ``snapshot_members``: the connections present in each export (by
  contact key), so the next export can be compared with it. ``slot`` is the keyed hash of a
  ghost row's identity that points at a person who turned ghost (see docs/import.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    insert,
    select,
)

from study.store import UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")
metadata = MetaData()

import_files = Table(
    "import_files",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("participant", String(200), nullable=False),
    Column("importer", String(32), nullable=False),
    Column("name", String(1000), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("export_date", Date, nullable=True),
    Column("imported_at", UTCDateTime, nullable=False),
    Index("ix_import_files_sha", "sha256"),
)

import_rows = Table(
    "import_rows",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("file_id", _ID, nullable=False),
    Column("line", Integer, nullable=True),
    Column("source", String(200), nullable=False),
    Column("source_key", String(200), nullable=False),
    Index("ix_import_rows_event", "source", "source_key"),
)

import_snapshots = Table(
    "import_snapshots",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("participant", String(200), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Index("ix_import_snapshots", "participant", "platform", "taken_at"),
)

snapshot_members = Table(
    "snapshot_members",
    metadata,
    Column("snapshot_id", _ID, nullable=False),
    Column("contact", String(200), nullable=False),
    Column("connected_on", Date, nullable=True),
    Column("slot", String(64), nullable=True),
    Index("ix_snapshot_members", "snapshot_id"),
    Index("ix_snapshot_slot", "slot"),
)


def ensure_tables(conn: Any) -> None:
    """Create the importers' tables where missing, in the import's own transaction (an import
    that fails leaves no empty tables). On PostgreSQL the first imports of a study take turns
    (an advisory lock, only while a table is missing), so two cannot both create them."""
    from sqlalchemy import inspect

    present = set(inspect(conn).get_table_names())
    if all(t.name in present for t in metadata.sorted_tables):
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727272)")
    metadata.create_all(conn, checkfirst=True)


def file_id(
    conn: Any,
    *,
    participant: str,
    importer: str,
    name: str,
    sha256: str,
    size: int,
    export_date: dt.date | None,
    now: dt.datetime,
) -> int:
    f = import_files.c
    found = conn.execute(
        select(f.id).where(and_(f.participant == participant, f.sha256 == sha256, f.name == name))
    ).scalar()
    if found is not None:
        return int(found)
    result = conn.execute(
        insert(import_files).values(
            participant=participant,
            importer=importer,
            name=name[:1000],
            sha256=sha256,
            size=size,
            export_date=export_date,
            imported_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def snapshot_before(
    conn: Any, participant: str, platform: str, taken_at: dt.datetime
) -> tuple[int, dt.datetime] | None:
    s = import_snapshots.c
    row = conn.execute(
        select(s.id, s.taken_at)
        .where(and_(s.participant == participant, s.platform == platform, s.taken_at < taken_at))
        .order_by(s.taken_at.desc(), s.id.desc())
        .limit(1)
    ).first()
    return (int(row.id), row.taken_at) if row else None


def snapshot_after_exists(
    conn: Any, participant: str, platform: str, taken_at: dt.datetime
) -> bool:
    s = import_snapshots.c
    return (
        conn.execute(
            select(s.id).where(
                and_(s.participant == participant, s.platform == platform, s.taken_at > taken_at)
            )
        ).first()
        is not None
    )


def members(conn: Any, snapshot: int) -> list[tuple[str, dt.date | None, str | None]]:
    m = snapshot_members.c
    return [
        (r.contact, r.connected_on, r.slot)
        for r in conn.execute(
            select(m.contact, m.connected_on, m.slot).where(m.snapshot_id == snapshot)
        )
    ]


def slot_contact(conn: Any, participant: str, platform: str, slot: str) -> str | None:
    """The person a ghost slot was matched to in an earlier snapshot, if any."""
    m, s = snapshot_members.c, import_snapshots.c
    return conn.execute(
        select(m.contact)
        .select_from(snapshot_members.join(import_snapshots, m.snapshot_id == s.id))
        .where(and_(m.slot == slot, s.participant == participant, s.platform == platform))
        .order_by(s.taken_at.desc())
        .limit(1)
    ).scalar()


def save_snapshot(
    conn: Any,
    *,
    participant: str,
    platform: str,
    taken_at: dt.datetime,
    now: dt.datetime,
    rows: list[dict[str, Any]],
) -> int:
    """Record a snapshot's members. A second export of the same moment (the same archive
    again, or a Basic and a Complete export of one day) adds its members to the snapshot:
    a connection present in either was present."""
    s = import_snapshots.c
    sid = conn.execute(
        select(s.id).where(
            and_(s.participant == participant, s.platform == platform, s.taken_at == taken_at)
        )
    ).scalar()
    if sid is None:
        sid = conn.execute(
            insert(import_snapshots).values(
                participant=participant, platform=platform, taken_at=taken_at, imported_at=now
            )
        ).inserted_primary_key[0]
    else:
        m = snapshot_members.c
        have = set(conn.execute(select(m.contact).where(m.snapshot_id == sid)).scalars())
        rows = [r for r in rows if r["contact"] not in have]
    if rows:
        conn.execute(insert(snapshot_members), [{**r, "snapshot_id": sid} for r in rows])
    return int(sid)


def trace(conn: Any, source: str, source_key: str) -> dict[str, Any] | None:
    """Where an imported event came from: file name, SHA-256 and line."""
    r, f = import_rows.c, import_files.c
    row = conn.execute(
        select(f.name, f.sha256, f.importer, r.line)
        .select_from(import_rows.join(import_files, r.file_id == f.id))
        .where(and_(r.source == source, r.source_key == source_key))
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None
