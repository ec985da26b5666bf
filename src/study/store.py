"""The log's tables and engines: one SQLAlchemy Core code path for SQLite and PostgreSQL.

SQLite is the embedded default (a file, WAL journal, foreign keys on, a busy timeout, and
``BEGIN IMMEDIATE`` for writes so that a notebook and the command line can write at the same
moment). Any SQLAlchemy URL works as well; PostgreSQL goes through psycopg 3.

Times are stored as UTC. Personal details of contacts live in ``contact_details`` only, so a
person can be erased without touching the events.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from study.errors import DatabaseError

SCHEMA_VERSION = 3
DEFAULT_DB = Path("data") / "study.db"


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored as UTC (naive UTC text on SQLite, timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; times must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class _Attributes(TypeDecorator):
    """JSON text on SQLite; JSONB on PostgreSQL (comparable, indexable; schema version 2).

    The PostgreSQL type is imported only when a PostgreSQL database is used: importing
    SQLAlchemy's PostgreSQL dialect costs every ``study log`` on SQLite about 30 ms.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


_ID = BigInteger().with_variant(Integer, "sqlite")
_ATTRIBUTES = _Attributes()

metadata = MetaData()

study_meta = Table(
    "study_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

participants = Table(
    "participants",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("participant", String(200), ForeignKey("participants.id"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("basis", String(32), nullable=False),
    Column("introducer", String(200), ForeignKey("contacts.key"), nullable=True),
    Column("first_seen", UTCDateTime, nullable=False),
    # True when first_seen is a stand-in (e.g. the import date of a vCard without a date).
    Column("first_seen_estimated", Boolean, nullable=False, default=False),
    # Keyed hash of the platform identity (profile URL or name) so imports can match a person
    # again without reading their details.
    Column("identity", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("participant", "platform", "identity", name="uq_contacts_identity"),
)

contact_details = Table(
    "contact_details",
    metadata,
    Column("key", String(200), ForeignKey("contacts.key", ondelete="CASCADE"), primary_key=True),
    Column("display_name", Text),
    Column("profile_url", Text),
    Column("company", Text),
    Column("position", Text),
    Column("email", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("participant", String(200), ForeignKey("participants.id"), nullable=False),
    Column("platform", String(16), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("contact", String(200), ForeignKey("contacts.key"), nullable=True),
    Column("value", Float, nullable=True),
    Column("attributes", _ATTRIBUTES, nullable=False, default=dict),
    Column("source", String(200), nullable=False, default="manual"),
    Column("source_key", String(200), nullable=True),
    UniqueConstraint("source", "source_key", name="uq_events_source_key"),
    Index("ix_events_participant_time", "participant", "occurred_at"),
    Index("ix_events_contact", "contact"),
)

#: A job lead's earlier steps are looked up by participant and lead whenever a step is logged
#: (study.rules); this index holds the job-lead rows only. A whole index on ``kind`` (schema
#: versions 1 and 2) made every insert pay for an index of a few distinct values that only
#: this lookup used: about a sixth of a bulk import's time (docs/performance.md). Plain DDL,
#: the same on SQLite and PostgreSQL: SQLAlchemy's ``postgresql_where`` would import the
#: PostgreSQL dialect into every ``study log`` on SQLite (about 45 ms).
JOB_LEADS_INDEX = DDL(
    "CREATE INDEX IF NOT EXISTS ix_events_job_leads ON events (participant) WHERE kind = 'job_lead'"
)
event.listen(events, "after_create", JOB_LEADS_INDEX)

# Schema version 2 (study/privacy.py, docs/privacy.md): that a contact was forgotten, under the
# pseudonymous key they had (never a name), so a restore can apply the erasure again; and the
# files the toolkit wrote with names in them, so forgetting a person can remove them.
erasures = Table(
    "erasures",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("contact", String(200), nullable=False),
    Column("erased_at", UTCDateTime, nullable=False),
    Column("events_deleted", Integer, nullable=False, default=0),
    Column("events_rewritten", Integer, nullable=False, default=0),
    Column("files_deleted", Integer, nullable=False, default=0),
)

named_files = Table(
    "named_files",
    metadata,
    Column("path", String(1000), primary_key=True),
    Column("what", String(64), nullable=False),
    Column("written_at", UTCDateTime, nullable=False),
)


def resolve_url(db: str | os.PathLike[str] | None = None) -> str:
    """A database argument (URL, path, or nothing) as an SQLAlchemy URL.

    Nothing means ``$STUDY_DB`` or else ``data/study.db``; a value without ``://`` is a path.
    """
    if db is None or str(db) == "":
        db = os.environ.get("STUDY_DB") or DEFAULT_DB
    text = str(db)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().absolute())


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other engines and in-memory databases."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def describe(url: str) -> str:
    """The database as a user would name it (no password)."""
    path = sqlite_path(url)
    if path is not None:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def busy_timeout() -> float:
    """Seconds a SQLite writer waits for another one's lock: ``$STUDY_BUSY_TIMEOUT`` or 30."""
    text = os.environ.get("STUDY_BUSY_TIMEOUT", "").strip()
    if not text:
        return 30.0
    try:
        seconds = float(text)
    except ValueError:
        raise DatabaseError(
            f"STUDY_BUSY_TIMEOUT: {text!r} is not a number of seconds (e.g. 30)"
        ) from None
    if not 0 <= seconds < 86_400:
        raise DatabaseError(f"STUDY_BUSY_TIMEOUT: {text!r} is not between 0 and 86400 seconds")
    return seconds


def _sqlite_setup(engine: Engine) -> None:
    wait_ms = int(busy_timeout() * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {wait_ms}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # e.g. VACUUM, which must run outside a transaction
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for ``url``; for a SQLite file, check the directory and create it owner-only.

    Settings are checked first (the busy timeout, the URL), so a mistake in them creates
    nothing. On PostgreSQL the same timeout bounds waiting for another session's lock
    (``lock_timeout``) and for the server to answer a connection."""
    timeout = busy_timeout()
    path = sqlite_path(url)
    if path is not None and not path.parent.is_dir():
        raise DatabaseError(f"cannot open {describe(url)}: directory {path.parent} does not exist")
    if path is not None and not path.exists() and not create:
        raise DatabaseError(f"no study at {describe(url)} (run `study init` first)")
    try:
        engine = create_engine(url, future=True, **_server_settings(url, timeout))
    except (ArgumentError, SQLAlchemyError, ImportError, ValueError) as exc:
        raise DatabaseError(f"cannot use database URL {describe(url)}: {exc}") from None
    if path is not None and create:
        _private_db_file(path)
    if path is not None and path.parent not in _SQLITE_DIRS:
        _SQLITE_DIRS.append(path.parent)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    return engine


def _server_settings(url: str, timeout: float) -> dict[str, Any]:
    """PostgreSQL: ``lock_timeout`` (added to any ``options`` the URL gives) and a connect
    timeout, both from STUDY_BUSY_TIMEOUT. Not ``statement_timeout``: a long statement that
    is working (a large import's inserts, VACUUM FULL after ``study forget``) must not be
    cancelled; waiting for a lock is what hung."""
    if not url.startswith("postgresql"):
        return {}
    from sqlalchemy.engine import make_url

    given = make_url(url).query.get("options", "")
    given = given if isinstance(given, str) else " ".join(given)
    lock_ms = max(1, int(timeout * 1000))  # 0 would mean "wait for ever" to PostgreSQL
    return {
        "connect_args": {
            "options": f"{given} -c lock_timeout={lock_ms}".strip(),
            "connect_timeout": max(2, int(timeout)),
        }
    }


def _private_db_file(path: Path) -> None:
    """Create the study's file owner-only (never through a symlink); an existing empty file
    (``touch study.db``) is made owner-only before the first name is written into it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        os.close(fd)
    except FileExistsError:
        info = path.stat()
        if info.st_size == 0 and info.st_mode & 0o077 and info.st_uid == os.geteuid():
            path.chmod(0o600)
    except OSError as exc:
        raise DatabaseError(f"cannot create {path}: {exc.strerror}") from None


def read_meta(conn: Connection) -> dict[str, str]:
    return {r.key: r.value for r in conn.execute(select(study_meta))}


def set_meta(engine: Engine, key: str, value: str) -> None:
    """Write one ``study_meta`` setting (in its own transaction)."""
    try:
        with engine.begin() as conn:
            conn.execute(study_meta.delete().where(study_meta.c.key == key))
            conn.execute(study_meta.insert().values(key=key, value=value))
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot write to {describe(str(engine.url))}: {_short(exc)}") from None


def pseudonym_key(meta: dict[str, str], name: str) -> bytes:
    """The study's secret for pseudonyms and identity hashes; a study without a valid one
    (a hand-edited or damaged ``study_meta``) is refused in one line, never a KeyError."""
    try:
        key = bytes.fromhex(meta["pseudonym_key"])
    except (KeyError, ValueError):
        key = b""
    if len(key) < 16:
        raise DatabaseError(
            f"{name} has no valid pseudonym key (study_meta.pseudonym_key); restore the study "
            "from a backup: a new key would change every pseudonym and identity hash"
        )
    return key


def ensure_schema(
    engine: Engine, url: str, *, create: bool, timezone: str | None = None
) -> dict[str, str]:
    """Check (or create) the schema; refuse a database written by a newer toolkit.

    The check only reads (so a read-only copy of a study can be opened); creating takes the
    write lock, and on PostgreSQL an advisory lock, so two ``study init`` at once are safe.
    """
    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            meta = read_meta(conn) if inspect(conn).has_table("study_meta") else None
        if meta is None:
            if not create:
                raise DatabaseError(f"no study at {describe(url)} (run `study init` first)")
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727271)")
                if not inspect(conn).has_table("study_meta"):
                    metadata.create_all(conn)
                    now = dt.datetime.now(dt.UTC)
                    conn.execute(
                        study_meta.insert(),
                        [
                            {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                            {"key": "pseudonym_key", "value": secrets.token_hex(32)},
                            {"key": "created_at", "value": now.isoformat()},
                            {
                                "key": "timezone",
                                "value": timezone or os.environ.get("STUDY_TZ") or "Europe/Berlin",
                            },
                        ],
                    )
                meta = read_meta(conn)
    except DatabaseError:
        raise
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open {describe(url)}: {_short(exc)}") from None
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError:
        raise DatabaseError(f"{describe(url)} has an unreadable schema version") from None
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{describe(url)} has schema version {version}, newer than this toolkit knows "
            f"({SCHEMA_VERSION}); upgrade the study package"
        )
    if version < SCHEMA_VERSION:
        from study.migrations import upgrade

        try:
            upgrade(engine, version)
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"cannot upgrade {describe(url)} from schema version {version}: {_short(exc)}"
            ) from None
        meta["schema_version"] = str(SCHEMA_VERSION)
    return meta


def _short(exc: BaseException) -> str:
    """The driver's message of a database error, without SQL and background links."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if text == "database is locked" or "lock timeout" in text:
        text += (
            f" (another program held a lock for more than {busy_timeout():g} s; "
            "try again, or wait longer with STUDY_BUSY_TIMEOUT=SECONDS)"
        )
    elif "readonly database" in text:
        text += " (the file or its directory is not writable by you)"
    elif text in ("database or disk is full", "disk I/O error") or "No space left" in text:
        full = [d for d in _SQLITE_DIRS if _free_bytes(d) < DISK_FULL_BELOW]
        if full:
            text = f"the disk holding {full[0]} is full ({text}); free some space and try again"
        elif text != "disk I/O error":
            text += " (free some space and try again)"
    return text


#: Folders of the SQLite files this process opened: where to look when SQLite reports a full
#: disk as "disk I/O error" (it does so when the journal cannot grow).
_SQLITE_DIRS: list[Path] = []
DISK_FULL_BELOW = 1 << 20


def _free_bytes(folder: Path) -> int:
    import shutil

    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return DISK_FULL_BELOW
