"""The object notebooks and the command line use: ``study.open(...)`` and its methods.

Every write goes through :class:`~study.write.batch.Batch`, one transaction: it validates each
event against the vocabulary and the rules, and commits all or nothing (the write path,
``study.write``). Reads return pandas DataFrames (pandas is imported only when a read asks for
it, so ``study log`` starts fast).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from study import migrations, store
from study.errors import DatabaseError, ValidationError
from study.vocabulary import (
    DEFAULT_PARTICIPANT,
    PLATFORMS,
    check_choice,
    parse_datetime,
)
from study.write.batch import DETAIL_FIELDS, Batch, detail_column
from study.write.summary import AlreadyLogged, WriteSummary

if TYPE_CHECKING:
    import pandas as pd


def open(db: str | os.PathLike[str] | None = None, *, create: bool = False) -> Study:  # noqa: A001
    """Open the study at ``db`` (a path or an SQLAlchemy URL; default ``$STUDY_DB`` or
    ``data/study.db``). ``create=True`` initializes a new study there if none exists, as
    ``study init`` does: with the participant ``me``, so it can be logged to right away."""
    return init(db) if create else Study(db)


def init(db: str | os.PathLike[str] | None = None, *, timezone: str | None = None) -> Study:
    """Create (or open) a study and make sure the default participant exists.

    ``timezone`` (else ``$STUDY_TZ``, else Europe/Berlin) is checked before anything is
    created. On an existing study it repairs a stored zone that is not one; a different valid
    zone is refused rather than silently kept."""
    try:
        s = Study(db, create=True, timezone=timezone)
    except _StoredZoneError as exc:
        if timezone is None:
            raise
        store.set_meta(exc.engine, "timezone", timezone)
        exc.engine.dispose()
        s = Study(db, timezone=timezone)
    if timezone is not None and s.meta.get("timezone") != timezone:
        stored = s.meta.get("timezone")
        s.close()
        raise ValidationError(
            f"this study's time zone is {stored}; `study init` does not change it", "timezone"
        )
    if not s.participants():
        s.add_participant(DEFAULT_PARTICIPANT)
    return s


DEFAULT_ZONE = "Europe/Berlin"


def _zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not a time zone (e.g. Europe/Berlin)", field) from None


class _StoredZoneError(DatabaseError):
    """The study's stored time zone is not one (`study init --timezone` repairs it)."""

    def __init__(self, message: str, engine: Any):
        super().__init__(message)
        self.engine = engine


class Study:
    """A study's log: participants, contacts, and the append-only events."""

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        create: bool = False,
        timezone: str | None = None,
    ):
        if create:  # checked before anything is created
            given = timezone is not None
            timezone = timezone if given else os.environ.get("STUDY_TZ") or DEFAULT_ZONE
            _zone(timezone, "timezone" if given else "STUDY_TZ")
        elif timezone is not None:
            _zone(timezone)
        self.url = store.resolve_url(db)
        self.engine = store.make_engine(self.url, create=create)
        self.meta = migrations.ensure_schema(
            self.engine, self.url, create=create, timezone=timezone
        )
        stored = self.meta.get("timezone", DEFAULT_ZONE)
        try:
            self.tz = _zone(stored)
        except ValidationError:
            raise _StoredZoneError(
                f"{self.name}: its time zone {stored!r} is not a time zone; set one with "
                "`study init --timezone Europe/Berlin`",
                self.engine,
            ) from None

    # housekeeping --------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Study {store.describe(self.url)}>"

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @property
    def name(self) -> str:
        return store.describe(self.url)

    @contextmanager
    def _read(self) -> Iterator[Any]:
        try:
            with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                yield conn
        except OperationalError as exc:
            raise DatabaseError(f"cannot read {self.name}: {store._short(exc)}") from None

    # writes ------------------------------------------------------------------------------
    @contextmanager
    def batch(self, *, force: bool = False) -> Iterator[Batch]:
        """A group of writes in one transaction: all of it is written, or none of it."""
        try:
            with self.engine.begin() as conn:
                b = Batch(self, conn, force=force)
                yield b
                b.flush()
        except OperationalError as exc:
            raise DatabaseError(f"cannot write to {self.name}: {store._short(exc)}") from None
        except IntegrityError as exc:
            raise DatabaseError(f"{self.name} refused the write: {store._short(exc)}") from None

    def log(self, kind: str, *, force: bool = False, **fields: Any) -> int | None:
        """Append one event; return its id, or None if it was in the log already.

        Logging the same event again (same kind, participant, contact, fields, and time, or
        day when no time is given, or period) changes nothing and warns
        :class:`AlreadyLogged` naming the event: a notebook or script can run again safely.
        ``occurrence=2`` (or ``again=True``: the next free number) logs a true repeat, e.g. a
        second call on one day; ``supersedes=ID`` corrects event ID. See :meth:`Batch.log`.
        """
        with self.batch(force=force) as b:
            b.log(kind, **fields)
        if b.summary.ids:
            return b.summary.ids[0]
        if b.summary.present:
            import warnings

            source, key, found = b.summary.present[0]
            if found is None:
                found = self.event_id(source, key)
            warnings.warn(
                f"{kind} already in the log as event {found}; nothing added "
                "(again=True logs it once more)",
                AlreadyLogged,
                stacklevel=2,
            )
        return None

    def event_id(self, source: str, source_key: str) -> int | None:
        """The id of the event with this source and source key, if it is in the log."""
        e = store.events.c
        with self._read() as conn:
            return conn.execute(
                select(e.id).where(and_(e.source == source, e.source_key == source_key))
            ).scalar()

    def add_participant(self, pid: str) -> str:
        with self.batch() as b:
            return b.add_participant(pid)

    def add_contact(self, name: str | None = None, **kwargs: Any) -> str:
        """Add a contact; return its pseudonymous key. See :meth:`Batch.add_contact`.

        A contact with the same profile URL or (normalized) name on the platform is not added
        again: its key is returned and :class:`AlreadyLogged` says so; ``new=True`` adds a
        true namesake.
        """
        with self.batch() as b:
            key = b.add_contact(name, **kwargs)
        if b.summary.contacts_found:
            import warnings

            found, how = b.summary.contacts_found[0]
            warnings.warn(
                f"already a contact: {found} (same {how}); nothing added (new=True adds a "
                "namesake)",
                AlreadyLogged,
                stacklevel=2,
            )
        return key

    def resolve_contact(
        self,
        who: str,
        *,
        participant: str = DEFAULT_PARTICIPANT,
        field: str = "contact",
        missing_ok: bool = False,
    ) -> str:
        """A contact's key from its key or its name (when exactly one contact of the
        participant has that normalized name); an error listing the keys of several.
        ``missing_ok``: a text that is neither comes back as it is (the write that uses it
        then says "unknown contact", after its other checks)."""
        with self.batch() as b:
            return b.resolve_contact(
                who, participant=participant, field=field, missing_ok=missing_ok
            )

    def set_basis(self, key: str, basis: str, introducer: str | None = None) -> None:
        """Classify a contact under the acceptance rule (basis, and introducer for basis c)."""
        with self.batch() as b:
            b.set_basis(key, basis, introducer)

    def set_details(self, key: str, **details: Any) -> None:
        with self.batch() as b:
            b.set_details(key, **details)

    def find_contact(
        self, identity: str, *, platform: str, participant: str = DEFAULT_PARTICIPANT
    ) -> str | None:
        """The key of the contact with this platform identity (profile URL or name), if any."""
        digest = self.identity_hash(participant, platform, identity)
        c = store.contacts.c
        with self._read() as conn:
            return conn.execute(
                select(c.key).where(
                    and_(c.participant == participant, c.platform == platform, c.identity == digest)
                )
            ).scalar()

    def identity_hash(self, participant: str, platform: str, identity: str) -> str:
        key = store.pseudonym_key(self.meta, self.name)
        msg = f"{participant}\x1f{platform}\x1f{identity.strip().lower()}".encode()
        return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]

    # reads -------------------------------------------------------------------------------
    def participants(self) -> list[str]:
        with self._read() as conn:
            return list(conn.execute(select(store.participants.c.id).order_by("id")).scalars())

    def count(self, kind: str | None = None) -> int:
        e = store.events.c
        q = select(func.count()).select_from(store.events)
        if kind:
            q = q.where(e.kind == kind)
        with self._read() as conn:
            return int(conn.execute(q).scalar() or 0)

    def events(
        self,
        kind: str | list[str] | None = None,
        *,
        contact: str | None = None,
        participant: str | None = None,
        since: Any = None,
        until: Any = None,
        columns: list[str] | None = None,
        superseded: bool = False,
    ) -> pd.DataFrame:
        """Events as a DataFrame: UTC times, categorical kind and platform, one column per
        attribute (see :data:`study.vocabulary.ATTRIBUTE_FIELDS`).

        An event a later one corrects (``supersedes``) is left out unless ``superseded=True``
        (the log keeps both; the analysis tables read this, so they see the corrected value).

        The filters run in the database; ``columns`` reads only those columns (e.g.
        ``["participant", "occurred_at", "kind", "contact"]``), which is faster and smaller
        for millions of events. Text columns use pandas' ``string`` dtype (Arrow storage).
        """
        from sqlalchemy import Text, cast, type_coerce
        from sqlalchemy.types import NullType

        from study.frames import _TABLE_COLUMNS, READ_CHUNK, event_columns, read_events
        from study.vocabulary import ATTRIBUTE_FIELDS

        wanted = event_columns(columns)
        e = store.events.c
        # raw driver values: the frame converts whole columns at once, not row by row
        cols: list[Any] = [type_coerce(e[c], NullType()) for c in _TABLE_COLUMNS if c in wanted]
        if any(c in ATTRIBUTE_FIELDS for c in wanted):
            cols.append(type_coerce(cast(e.attributes, Text), NullType()))
        conditions: list[Any] = []
        if kind is not None:
            kinds = [kind] if isinstance(kind, str) else list(kind)
            conditions.append(e.kind.in_(kinds))
        if contact is not None:
            conditions.append(e.contact == contact)
        if participant is not None:
            conditions.append(e.participant == participant)
        if since is not None:
            conditions.append(e.occurred_at >= parse_datetime(since, self.tz, "since"))
        if until is not None:
            conditions.append(e.occurred_at <= parse_datetime(until, self.tz, "until"))
        with self._read() as conn:
            if not superseded:
                gone = list(
                    conn.execute(select(e.supersedes).where(e.supersedes.is_not(None))).scalars()
                )
                if gone:
                    conditions.append(e.id.not_in(gone))
            q = select(*cols).where(*conditions).order_by(e.occurred_at, e.id)
            if conn.dialect.name == "sqlite":
                from study.frames import read_events_sqlite

                return read_events_sqlite(conn, conditions, wanted)
            if conn.dialect.name != "sqlite":  # a server-side cursor, read in partitions
                result = conn.execution_options(stream_results=True).execute(q)
                return read_events(result.partitions(READ_CHUNK), wanted)
            result = conn.execute(q)
            cursor = result.cursor  # the driver's own rows: no per-row work in between

            def chunks() -> Iterator[list[Any]]:
                while rows := cursor.fetchmany(READ_CHUNK):
                    yield rows

            try:
                return read_events(chunks(), wanted)
            finally:
                result.close()

    def contacts(
        self,
        names: bool = False,
        *,
        participant: str | None = None,
        basis: str | None = None,
        platform: str | None = None,
    ) -> pd.DataFrame:
        """Contacts by pseudonymous key; personal details only with ``names=True``."""
        from study.frames import contacts_frame

        c, d = store.contacts.c, store.contact_details.c
        cols = [
            c.key,
            c.participant,
            c.platform,
            c.basis,
            c.introducer,
            c.first_seen,
            c.first_seen_estimated,
        ]
        source: Any = store.contacts
        if names:
            cols += [getattr(d, detail_column(f)).label(f) for f in DETAIL_FIELDS]
            source = store.contacts.outerjoin(store.contact_details, c.key == d.key)
        q = select(*cols).select_from(source).order_by(c.first_seen, c.key)
        if participant is not None:
            q = q.where(c.participant == participant)
        if basis is not None:
            q = q.where(c.basis == check_choice(basis, store_bases(), "basis"))
        if platform is not None:
            q = q.where(c.platform == check_choice(platform, PLATFORMS, "platform"))
        with self._read() as conn:
            rows = conn.execute(q).all()
        return contacts_frame(rows, names=names)

    def export(
        self, outdir: str | os.PathLike[str], fmt: str = "parquet", *, names: bool = False
    ) -> list[str]:
        """Write one file per table (events, contacts, participants) for R or DuckDB users."""
        from study.export import export_tables

        return export_tables(self, outdir, fmt, names=names)


def store_bases() -> tuple[str, ...]:
    from study.vocabulary import BASES

    return BASES


__all__ = ["Study", "Batch", "WriteSummary", "AlreadyLogged", "open", "init", "SQLAlchemyError"]
