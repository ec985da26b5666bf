"""The object notebooks and the command line use: ``study.open(...)`` and its methods.

Every write goes through :class:`Batch`, one transaction: it validates each event against the
vocabulary and the rules, and commits all or nothing. Reads return pandas DataFrames (pandas is
imported only when a read asks for it, so ``study log`` starts fast).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from study import store
from study.errors import DatabaseError, ValidationError
from study.rules import ContactState, Ledger
from study.vocabulary import (
    DEFAULT_PARTICIPANT,
    MAX_DETAIL,
    PLATFORMS,
    Event,
    check_basis,
    check_choice,
    check_text,
    parse_bool,
    parse_datetime,
    validate,
)

if TYPE_CHECKING:
    import pandas as pd

FLUSH_EVERY = 20_000
#: A contact's personal details as ``add_contact``, ``set_details`` and ``contacts(names=True)``
#: name them; the name is stored in the details table's column ``display_name``.
DETAIL_FIELDS = ("name", "profile_url", "company", "position", "email")
#: Earlier spellings still accepted on writes.
_DETAIL_ALIASES = {"display_name": "name"}


def _detail_column(field: str) -> str:
    """The details table's column of a detail field."""
    return "display_name" if field == "name" else field


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


@dataclass
class WriteSummary:
    """What a batch of writes did."""

    added: int = 0
    already_present: int = 0
    contacts_added: int = 0
    ids: list[int] = field(default_factory=list)


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
        self.meta = store.ensure_schema(self.engine, self.url, create=create, timezone=timezone)
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
        """Append one event; return its id, or None if its source_key was already logged."""
        with self.batch(force=force) as b:
            b.log(kind, **fields)
        return b.summary.ids[0] if b.summary.ids else None

    def add_participant(self, pid: str) -> str:
        with self.batch() as b:
            return b.add_participant(pid)

    def add_contact(self, name: str | None = None, **kwargs: Any) -> str:
        """Add a contact; return its pseudonymous key. See :meth:`Batch.add_contact`."""
        with self.batch() as b:
            return b.add_contact(name, **kwargs)

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
    ) -> pd.DataFrame:
        """Events as a DataFrame: UTC times, categorical kind and platform, one column per
        attribute (see :data:`study.vocabulary.ATTRIBUTE_FIELDS`).

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
        q = select(*cols).where(*conditions).order_by(e.occurred_at, e.id)
        with self._read() as conn:
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
            cols += [getattr(d, _detail_column(f)).label(f) for f in DETAIL_FIELDS]
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


class Batch:
    """Writes collected in one transaction; see :meth:`Study.batch`."""

    def __init__(self, study: Study, conn: Any, *, force: bool = False):
        self.study = study
        self.conn = conn
        self.force = force
        self.ledger = Ledger(conn)
        self.summary = WriteSummary()
        self.now = dt.datetime.now(dt.UTC)
        self._events: list[dict[str, Any]] = []
        self._contacts: list[dict[str, Any]] = []
        self._details: list[dict[str, Any]] = []
        self._identities: dict[tuple[str, str, str], str] = {}
        dialect = conn.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        elif dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            dialect_insert = None
        if dialect_insert is not None:
            self._insert_events = dialect_insert(store.events).on_conflict_do_nothing(
                index_elements=["source", "source_key"]
            )
        else:
            self._insert_events = insert(store.events)

    # participants and contacts ----------------------------------------------------------
    def add_participant(self, pid: str) -> str:
        pid = str(pid).strip()
        if not pid or len(pid) > 200:
            raise ValidationError("missing or longer than 200 characters", "participant")
        check_text(pid, "participant")  # a NUL: stored by SQLite, a raw DataError on PostgreSQL
        if self.ledger.has_participant(pid):
            return pid
        self.conn.execute(insert(store.participants).values(id=pid, created_at=self.now))
        self.ledger.note_participant(pid)
        return pid

    def add_contact(
        self,
        name: str | None = None,
        *,
        platform: str,
        basis: str = "unknown",
        introducer: str | None = None,
        participant: str = DEFAULT_PARTICIPANT,
        first_seen: Any = None,
        first_seen_estimated: bool = False,
        key: str | None = None,
        identity: str | None = None,
        **details: Any,
    ) -> str:
        """Add a contact and return its key (generated unless given).

        ``identity`` (a normalized profile URL or name) lets imports find the person again;
        only its keyed hash is stored with the contact. ``name`` and ``details`` (profile_url,
        company, position, email) go to the separate details table.
        """
        platform = check_choice(platform, PLATFORMS, "platform")
        basis = check_basis(basis, introducer)
        estimated = parse_bool(first_seen_estimated, "first_seen_estimated")
        if not self.ledger.has_participant(participant):
            raise ValidationError(f"unknown participant {participant!r}", "participant")
        if introducer is not None:
            self.ledger.require_contact(introducer, participant, "introducer")
        if key is None:
            key = self._new_key()
        elif self.ledger.contact(key) is not None:
            raise ValidationError(f"contact {key!r} already exists", "key")
        seen = (
            parse_datetime(first_seen, self.study.tz, "first_seen")
            if first_seen is not None
            else self.now
        )
        if seen > self.now + dt.timedelta(minutes=10):
            raise ValidationError(f"{seen.date()} lies in the future", "first_seen")
        digest = None
        if identity:
            digest = self.study.identity_hash(participant, platform, identity)
            if (participant, platform, digest) in self._identities or self._find_identity(
                participant, platform, digest
            ):
                raise ValidationError("a contact with this identity already exists", "identity")
            self._identities[(participant, platform, digest)] = key
        self._contacts.append(
            {
                "key": key,
                "participant": participant,
                "platform": platform,
                "basis": basis,
                "introducer": introducer,
                "first_seen": seen,
                "first_seen_estimated": estimated,
                "identity": digest,
                "created_at": self.now,
            }
        )
        self.ledger.note_contact(
            key, ContactState(participant, platform, basis, introducer), new=True
        )
        self.summary.contacts_added += 1
        details = self._detail_names(details)
        if name is not None or any(details.get(f) for f in DETAIL_FIELDS):
            self._details.append(self._detail_row(key, {"name": name, **details}))
        return key

    def add_contacts(self, frame: pd.DataFrame) -> list[str]:
        """Add many contacts given as a DataFrame; return their keys in the frame's order.

        Columns: the keywords of :meth:`add_contact` (``key``, ``platform``, ``basis``,
        ``introducer``, ``participant``, ``first_seen``, ``first_seen_estimated``,
        ``identity``) and ``name``, ``profile_url``, ``company``, ``position``, ``email``. An
        empty cell (None, NaN, NaT, "") means "not given". The frame is accepted exactly when
        calling ``add_contact`` row by row would accept it (an introducer may be on an earlier
        row); otherwise the first bad row's error is raised, prefixed with its row label
        (``row 17: platform: ...``; also ``err.row``), and nothing of the frame is written.
        Rows are checked per column and sent with one ``executemany`` (see
        :mod:`study.bulk_contacts`).
        """
        from study.bulk_contacts import add_contacts

        return add_contacts(self, frame)

    @staticmethod
    def _detail_names(details: dict[str, Any]) -> dict[str, Any]:
        """``details`` with earlier spellings (``display_name``) under today's (``name``)."""
        return {_DETAIL_ALIASES.get(k, k): v for k, v in details.items()}

    def _detail_row(self, key: str, details: dict[str, Any]) -> dict[str, Any]:
        """A row of the details table (its column names) from ``details`` by field name."""
        unknown = set(details) - set(DETAIL_FIELDS)
        if unknown:
            raise ValidationError("not a contact detail", sorted(unknown)[0])
        row = {
            _detail_column(f): (
                None if details.get(f) in (None, "") else check_text(str(details[f]).strip(), f)
            )
            for f in DETAIL_FIELDS
        }
        long = next(
            (f for f in DETAIL_FIELDS if len(row[_detail_column(f)] or "") > MAX_DETAIL), None
        )
        if long:
            raise ValidationError(f"longer than {MAX_DETAIL:,} characters", long)
        row.update(key=key, updated_at=self.now)
        return row

    def _new_key(self) -> str:
        while True:
            key = "c-" + secrets.token_hex(5)
            if self.ledger.contact(key) is None:
                return key

    def _find_identity(self, participant: str, platform: str, digest: str) -> str | None:
        c = store.contacts.c
        return self.conn.execute(
            select(c.key).where(
                and_(c.participant == participant, c.platform == platform, c.identity == digest)
            )
        ).scalar()

    def find_contact(
        self, identity: str, *, platform: str, participant: str = DEFAULT_PARTICIPANT
    ) -> str | None:
        digest = self.study.identity_hash(participant, platform, identity)
        return self._identities.get((participant, platform, digest)) or self._find_identity(
            participant, platform, digest
        )

    def set_basis(self, key: str, basis: str, introducer: str | None = None) -> None:
        state = self.ledger.contact(key)
        if state is None:
            raise ValidationError(f"unknown contact {key!r}", "contact")
        basis = check_basis(basis, introducer)
        if introducer is not None:
            if introducer == key:
                raise ValidationError("a contact cannot introduce themselves", "introducer")
            self.ledger.require_contact(introducer, state.participant, "introducer")
        self.flush()
        self.conn.execute(
            update(store.contacts)
            .where(store.contacts.c.key == key)
            .values(basis=basis, introducer=introducer)
        )
        state.basis, state.introducer = basis, introducer

    def set_details(self, key: str, **details: Any) -> None:
        if self.ledger.contact(key) is None:
            raise ValidationError(f"unknown contact {key!r}", "contact")
        self.flush()
        details = self._detail_names(details)
        row = self._detail_row(key, details)
        given = {_detail_column(f) for f in details}
        d = store.contact_details
        exists = self.conn.execute(select(d.c.key).where(d.c.key == key)).first()
        if exists:
            values = {k: v for k, v in row.items() if k in given or k == "updated_at"}
            self.conn.execute(update(d).where(d.c.key == key).values(**values))
        else:
            self.conn.execute(insert(d).values(**row))

    # events ------------------------------------------------------------------------------
    def log(
        self,
        kind: str,
        *,
        participant: str = DEFAULT_PARTICIPANT,
        platform: str | None = None,
        at: Any = None,
        source: str = "manual",
        source_key: str | None = None,
        force: bool | None = None,
        **fields: Any,
    ) -> bool:
        """Validate and queue one event; return False if it was already in the log."""
        ev = validate(
            kind,
            fields,
            participant=participant,
            platform=platform,
            at=at,
            tz=self.study.tz,
            now=self.now,
            source=source,
            source_key=source_key,
        )
        return self.add(ev, force=self.force if force is None else force)

    def log_frame(
        self, frame: pd.DataFrame, *, source: str = "manual", force: bool | None = None
    ) -> int:
        """Validate and write many events given as a DataFrame; return how many were new.

        Columns: ``kind``, ``occurred_at`` (tz-aware), optional ``participant`` (default
        ``me``), ``platform``, ``source_key``, and the kinds' fields by name (``contact``,
        ``channel``, ``direction``, ``with_message``, ``name``, ``value``, ``period_start``,
        ``period_end``, ``completeness``, ``lead``, ``stage``, ...). Empty cells mean "not given".
        The same vocabulary and rules apply as to :meth:`log`.

        Each cell is what the same keyword of :meth:`log` would be: an empty cell (None,
        NaN, NaT) is "not given", an empty ``occurred_at`` means now (or, for a metric with a
        period, noon of the period's last day), an empty ``participant`` the default one.
        The first row that breaks a rule raises its :class:`ValidationError`, prefixed with
        the frame's row label (``row 17: channel: ...``; also ``err.row``). Rows are checked
        per column and sent with one ``executemany`` (see :mod:`study.bulk`).
        """
        from study.bulk import log_frame

        return log_frame(self, frame, source=source, force=self.force if force is None else force)

    def add(self, ev: Event, *, force: bool = False) -> bool:
        """Queue an already validated event after the stateful rules; False if a duplicate."""
        if self.ledger.is_duplicate(ev.source, ev.source_key):
            self.summary.already_present += 1
            return False
        self.ledger.check(ev, force=force)
        self.ledger.accept(ev)
        self._events.append(
            {
                "participant": ev.participant,
                "platform": ev.platform,
                "occurred_at": ev.occurred_at,
                "recorded_at": self.now,
                "kind": ev.kind,
                "contact": ev.contact,
                "value": ev.value,
                "attributes": ev.attributes,
                "source": ev.source,
                "source_key": ev.source_key,
            }
        )
        if len(self._events) >= FLUSH_EVERY:
            self.flush()
        return True

    def flush(self) -> None:
        """Send queued rows to the database (still inside the batch's transaction)."""
        if self._contacts:
            self.conn.execute(insert(store.contacts), self._contacts)
            self._contacts = []
        if self._details:
            self.conn.execute(insert(store.contact_details), self._details)
            self._details = []
        if not self._events:
            return
        rows, self._events = self._events, []
        if len(rows) == 1:
            result = self.conn.execute(self._insert_events.returning(store.events.c.id), rows[0])
            new_id = result.scalar()
            if new_id is not None:
                self.summary.ids.append(int(new_id))
                self.summary.added += 1
            else:
                self.summary.already_present += 1
            return
        if self.conn.dialect.name == "postgresql":
            # psycopg's executemany reports every row as inserted, even those ON CONFLICT
            # skipped (a concurrent import of the same file); the returned ids are the truth.
            returned = self.conn.execute(self._insert_events.returning(store.events.c.id), rows)
            added = len(returned.all())
        else:
            result = self.conn.execute(self._insert_events, rows)
            added = (
                result.rowcount
                if result.rowcount is not None and result.rowcount >= 0
                else len(rows)
            )
        self.summary.added += added
        self.summary.already_present += len(rows) - added


__all__ = ["Study", "Batch", "WriteSummary", "open", "init", "SQLAlchemyError"]
