"""One transaction of writes: :class:`Batch` (``Study.batch()``, and every write of ``Study``).

Each event is validated against the vocabulary (:func:`study.vocabulary.validate`: the event
alone), then against the log (:class:`study.write.rules.Ledger`: the log's state), then queued
and sent in one ``executemany`` per batch; frames take the per-column path of
:mod:`study.write.frame` and :mod:`study.write.contacts`, which keep to the same rules.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, select, update

from study import store
from study.errors import ValidationError
from study.identity import contact_identities, norm_person
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
    storable_text,
    validate,
)
from study.write.rules import ContactState, Ledger
from study.write.summary import WriteSummary

if TYPE_CHECKING:
    import pandas as pd

    from study.api import Study

FLUSH_EVERY = 20_000
#: A contact's personal details as ``add_contact``, ``set_details`` and ``contacts(names=True)``
#: name them; the name is stored in the details table's column ``display_name``.
DETAIL_FIELDS = ("name", "profile_url", "company", "position", "email")
#: Earlier spellings still accepted on writes.
_DETAIL_ALIASES = {"display_name": "name"}


def detail_column(field: str) -> str:
    """The details table's column of a detail field."""
    return "display_name" if field == "name" else field


class Batch:
    """Writes collected in one transaction; see :meth:`Study.batch`."""

    def __init__(self, study: Study, conn: Any, *, force: bool = False):
        self.study = study
        self.conn = conn
        self.force = force
        self.ledger = Ledger(conn, study.tz)
        self.summary = WriteSummary()
        #: (participant, platform) -> normalized name -> keys, loaded when first asked
        self._names: dict[tuple[str, str], dict[str, list[str]]] = {}
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
        new: bool = False,
        **details: Any,
    ) -> str:
        """Add a contact and return its key (generated unless given).

        ``identity`` (a normalized profile URL or name) lets imports find the person again;
        only its keyed hash is stored with the contact. ``name`` and ``details`` (profile_url,
        company, position, email) go to the separate details table.

        Without ``key`` and ``identity`` (a contact added by hand), a contact of the
        participant on the platform with the same profile URL, or else the same normalized
        name, is the person again: its key is returned and nothing is added (the summary's
        ``contacts_found`` says so), so a script can run again. ``new=True`` adds a true
        namesake. A contact added by hand gets the identity of its URL, else its name, so the
        importers find it too.
        """
        platform = check_choice(platform, PLATFORMS, "platform")
        basis = check_basis(basis, introducer)
        estimated = parse_bool(first_seen_estimated, "first_seen_estimated")
        new = parse_bool(new, "new")
        if not self.ledger.has_participant(participant):
            raise ValidationError(f"unknown participant {participant!r}", "participant")
        if introducer is not None:
            self.ledger.require_contact(introducer, participant, "introducer")
        if key is None and identity is None:
            # text that cannot be stored is refused below, with the details
            url = details.get("profile_url")
            identities = contact_identities(
                None if name is None or not storable_text(str(name)) else str(name),
                str(url) if url and storable_text(str(url)) else None,
            )
            if not new:
                found = self._existing_contact(name, identities, participant, platform)
                if found is not None:
                    self.summary.contacts_found.append(found)
                    return found[0]
            identity = next(
                (
                    i
                    for i in identities
                    if self._find_identity(
                        participant, platform, self.study.identity_hash(participant, platform, i)
                    )
                    is None
                    and (participant, platform, self.study.identity_hash(participant, platform, i))
                    not in self._identities
                ),
                None,
            )
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
        if name is not None and (participant, platform) in self._names:
            self._names[(participant, platform)].setdefault(norm_person(str(name)), []).append(key)
        return key

    def _existing_contact(
        self, name: Any, identities: list[str], participant: str, platform: str
    ) -> tuple[str, str] | None:
        """The contact a hand-added one would repeat: (key, how it matched), or None. A
        profile URL decides; else the name, which several namesakes make ambiguous."""
        for ident in identities:
            digest = self.study.identity_hash(participant, platform, ident)
            found = self._identities.get((participant, platform, digest)) or self._find_identity(
                participant, platform, digest
            )
            if found is not None and ident.startswith("http"):
                return found, "profile URL"
        if name is None or not storable_text(str(name)) or not norm_person(str(name)):
            return None
        keys = self.contacts_named(str(name), participant=participant, platform=platform)
        if len(keys) > 1:
            raise ValidationError(
                f"{len(keys)} contacts on {platform} are called {str(name).strip()!r} "
                f"({', '.join(keys)}); use a key, or new=True (--new) for one more namesake",
                "name",
            )
        if keys:
            return keys[0], "name"
        digest = self.study.identity_hash(participant, platform, identities[-1])
        found = self._identities.get((participant, platform, digest)) or self._find_identity(
            participant, platform, digest
        )
        return (found, "name") if found is not None else None

    def contacts_named(
        self, name: str, *, participant: str, platform: str | None = None
    ) -> list[str]:
        """Keys of the participant's contacts whose normalized name is ``name``'s."""
        wanted = norm_person(name)
        platforms = PLATFORMS if platform is None else (platform,)
        found: list[str] = []
        for pl in platforms:
            if (participant, pl) not in self._names:
                self.flush()
                c, d = store.contacts.c, store.contact_details.c
                index: dict[str, list[str]] = {}
                for key, display in self.conn.execute(
                    select(c.key, d.display_name)
                    .select_from(store.contacts.join(store.contact_details, c.key == d.key))
                    .where(and_(c.participant == participant, c.platform == pl))
                    .order_by(c.created_at, c.key)
                ):
                    if display:
                        index.setdefault(norm_person(display), []).append(key)
                self._names[(participant, pl)] = index
            found += self._names[(participant, pl)].get(wanted, [])
        return found

    def resolve_contact(
        self,
        who: str,
        *,
        participant: str = DEFAULT_PARTICIPANT,
        field: str = "contact",
        missing_ok: bool = False,
    ) -> str:
        """See :meth:`Study.resolve_contact`."""
        text = check_text(str(who).strip(), field)
        if not text or len(text) > 200:
            raise ValidationError("missing or longer than 200 characters", field)
        check_text(str(participant), "participant")
        state = self.ledger.contact(text)
        if state is not None:
            return text
        keys = self.contacts_named(text, participant=participant) if text else []
        if len(keys) == 1:
            return keys[0]
        if len(keys) > 1:
            raise ValidationError(
                f"{len(keys)} contacts are called {text!r}: {', '.join(keys)} (give the key)",
                field,
            )
        if missing_ok:
            return text
        raise ValidationError(
            f"no contact has the key or name {text!r} (`study contacts --names` lists them; "
            "`study contact add` adds one)",
            field,
        )

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
        :mod:`study.write.contacts`).
        """
        from study.write.contacts import add_contacts

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
            detail_column(f): (
                None if details.get(f) in (None, "") else check_text(str(details[f]).strip(), f)
            )
            for f in DETAIL_FIELDS
        }
        long = next(
            (f for f in DETAIL_FIELDS if len(row[detail_column(f)] or "") > MAX_DETAIL), None
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
        given = {detail_column(f) for f in details}
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
        occurrence: int | None = None,
        again: bool = False,
        supersedes: int | None = None,
        **fields: Any,
    ) -> bool:
        """Validate and queue one event; return False if it was already in the log.

        Without ``source_key`` the event's key is made from its content
        (:func:`study.vocabulary.content_key`): the same event logged again is a no-op.
        ``occurrence=N`` (N >= 2) is the N-th such event (a second call on one day: still
        a no-op when run again); ``again=True`` takes the next free number. ``supersedes``
        is the id of an event this one corrects: both stay in the log, reads show this one.
        """
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
        if occurrence is not None or again:
            if source_key is not None:
                raise ValidationError(
                    "a source key names the event itself; occurrences are for events logged "
                    "without one",
                    "occurrence",
                )
            n = self._occurrence(occurrence) if occurrence is not None else None
            if n is None:
                self.flush()
                n = self.ledger.next_occurrence(ev.source, ev.source_key or "")
            if n > 1:
                ev.source_key = f"{ev.source_key}#{n}"
        if supersedes is not None:
            ev.supersedes = self._event_id(supersedes)
        return self.add(ev, force=self.force if force is None else force)

    @staticmethod
    def _occurrence(value: Any) -> int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = 0
        if isinstance(value, bool) or n != value or not 1 <= n < 10**6:
            raise ValidationError(f"{value!r} is not a count of 1 or more", "occurrence")
        return n

    @staticmethod
    def _event_id(value: Any) -> int:
        try:
            n = int(str(value).strip())
        except ValueError:
            n = 0
        if isinstance(value, bool) or not 1 <= n < 2**63:
            raise ValidationError(f"{value!r} is not an event id", "supersedes")
        return n

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
        per column and sent with one ``executemany`` (see :mod:`study.write.frame`).
        """
        from study.write.frame import log_frame

        return log_frame(self, frame, source=source, force=self.force if force is None else force)

    def add(self, ev: Event, *, force: bool = False) -> bool:
        """Queue an already validated event after the stateful rules; False if a duplicate."""
        if self.ledger.is_duplicate(ev.source, ev.source_key):
            return self._present(ev)
        if ev.supersedes is not None:  # the rules see the log without the corrected event
            self.ledger.check_supersedes(ev)
            self.flush()
            self.ledger.forget_superseded(ev)
        try:
            self.ledger.check(ev, force=force)
            same = self.ledger.check_metric(ev, force=force) if ev.kind == "metric" else None
        except ValidationError:
            if ev.supersedes is not None:
                self.ledger.forget_superseded(ev, undo=True)
            raise
        if same is not None:
            return self._present(ev, same.id)
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
                "supersedes": ev.supersedes,
            }
        )
        if len(self._events) >= FLUSH_EVERY:
            self.flush()
        return True

    def _present(self, ev: Event, event_id: int | None = None) -> bool:
        self.summary.already_present += 1
        if len(self.summary.present) < 100 and ev.source_key is not None:
            self.summary.present.append((ev.source, ev.source_key, event_id))
        return False

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
            else:  # another writer logged it meanwhile (the unique key caught it)
                self.summary.already_present += 1
                self.summary.present.append((rows[0]["source"], rows[0]["source_key"], None))
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
