"""Rules that need the log's state, checked inside the writing transaction.

The :class:`Ledger` keeps what a batch of writes has learnt about contacts, leads and sources,
loading each from the database once, so an import of a million events checks each rule in
constant time. Rules (each error names its field):

* a contact must exist and belong to the event's participant; the event's platform is the
  contact's platform (the tie lives there);
* an event about a contact who was removed is refused until a ``request_accepted`` re-adds the
  tie; requests, introductions, vouch checks and notes are allowed meanwhile (they concern a
  new tie or the person, not the lost tie). ``force`` lets it through: a researcher may log an
  interaction with a former contact on purpose;
* an introduction or a vouch check names a known introducer (by default the one recorded on the
  contact) who is not the contact;
* a job lead's stages never go backwards (lead < applied < interview < offer < accepted), and
  nothing follows a closing stage (accepted, rejected, withdrawn); ``force`` lets a correction
  through. A lead's first event gives its channel; later stages inherit channel and contact;
* the same stage of a job lead is not logged twice (on another day: "applied" twice is a
  mistake or a second application, which is a new lead); ``force`` lets a true repeat
  through (a second round of interviews);
* an introduction is refused for a contact of basis ``none``: such a contact was accepted
  without any prior contact, so nobody introduced them (fix the basis, or ``force``);
* one value per metric, platform and period: a count (``profile_views``, ...) over the same
  period again with the same value is a duplicate (not an error: the same figure copied
  twice), with another value an error naming the entry already logged (a correction names it:
  ``supersedes``); a count over a period that overlaps one already logged is refused, because
  summed by week it would be counted twice (``force`` lets it through: a platform's rolling
  windows). A level (``followers``, ...) has one value per day. On PostgreSQL the check runs
  under a per-participant advisory lock, so two writers cannot both pass it;
* a correction (``supersedes``) names an event of the same participant and kind that is not
  corrected already; the corrected event stays in the log, and reads (``Study.events``) and
  these rules see only the newest of a chain;
* an event whose (source, source_key) is already in the log is a duplicate: skipped, not
  checked, not an error, so re-importing a file adds nothing. An event logged without a key
  gets one made from its content (:func:`study.vocabulary.content_key`), so logging the same
  thing twice is a no-op too; ``occurrence`` numbers true repeats.

Checked on the single event, without the log (:mod:`study.vocabulary`, each with its reason
there): an introducer belongs to basis ``introduced`` only (a contact known first-hand, or
accepted without contact, was introduced by nobody); metric values are whole numbers (12.5
profile views is a typing mistake); a level (followers, ...) takes a moment, not a period (a
period claims it counted something happening); a local time that does not exist at the
daylight-saving change is refused, one that exists twice is read as the first. A report's
period must be over (:func:`study.periods.check_complete`: a running one would print rates of
a part as if they were the whole).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.engine import Connection

from study import store
from study.errors import ValidationError
from study.vocabulary import LEAD_CLOSING, LEAD_STAGES, Event

#: Kinds that (re)start a tie.
READDING_KINDS = frozenset({"request_accepted"})
#: Kinds allowed about a contact whose tie is removed: they concern a new tie or the person.
ALLOWED_WHILE_REMOVED = frozenset(
    {
        "request_sent",
        "request_received",
        "request_accepted",
        "request_declined",
        "request_withdrawn",
        "introduction",
        "vouch_check",
        "note",
    }
)
#: Kinds without a contact whose platform must be given (the figure belongs to one platform).
PLATFORM_REQUIRED = frozenset({"metric", "profile_updated"})

RANK = {stage: i for i, stage in enumerate(("lead", "applied", "interview", "offer", "accepted"))}
RANK.update({"rejected": 5, "withdrawn": 5})
assert set(RANK) == set(LEAD_STAGES)


def lead_steps_query(participant: str, lead: str) -> Select:
    """The logged steps of one job lead (read through ``store.JOB_LEADS_INDEX``)."""
    e = store.events.c
    return select(e.id, e.occurred_at, e.attributes, e.contact).where(
        and_(
            e.participant == participant,
            e.kind == "job_lead",
            e.attributes["lead"].as_string() == lead,
        )
    )


#: Advisory-lock class of the metric rule on PostgreSQL (with a hash of the participant).
METRIC_LOCK = 727273


@dataclass
class MetricEntry:
    """A logged metric value, as the rule "one value per metric, platform and period" sees it:
    counts by their period, levels by their local day (``start == end``)."""

    id: int | None
    platform: str
    name: str
    start: dt.date
    end: dt.date
    value: float


def metric_span(
    name: str, attributes: dict[str, Any], occurred_at: dt.datetime, tz: dt.tzinfo
) -> tuple[dt.date, dt.date]:
    """The days a metric value covers: a count's period, a level's local day."""
    start, end = attributes.get("period_start"), attributes.get("period_end")
    if start is not None and end is not None:
        return _day(start), _day(end)
    day = occurred_at.astimezone(tz).date()
    return day, day


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def metric_conflict(
    entries: list[MetricEntry], start: dt.date, end: dt.date, value: float, force: bool
) -> tuple[str, MetricEntry] | None:
    """How a new value of a metric relates to the entries of its participant, platform and
    name: ``("same", e)`` it is ``e`` again; ``("other", e)`` another value for ``e``'s
    period; ``("overlap", e)`` its period overlaps ``e``'s (not with ``force``); else None."""
    exact = [e for e in entries if e.start == start and e.end == end]
    for e in exact:
        if e.value == value:
            return "same", e
    if exact:
        return "other", exact[0]
    if not force:
        for e in entries:
            if e.start <= end and start <= e.end:
                return "overlap", e
    return None


def metric_error(
    kind: str, entry: MetricEntry, start: dt.date, end: dt.date, tz: dt.tzinfo
) -> ValidationError:
    """The error of :func:`metric_conflict`'s ``other`` and ``overlap`` (it names the entry)."""
    span = lambda a, b: a.isoformat() if a == b else f"{a}..{b}"  # noqa: E731
    logged = "logged" if entry.id is None else f"logged as event {entry.id}"
    if kind == "other":
        what = "period" if entry.start != entry.end else "day"
        fix = "" if entry.id is None else f"; a correction names it: --supersedes {entry.id}"
        return ValidationError(
            f"{entry.name} on {entry.platform} for the {what} {span(start, end)} is already "
            f"{logged} with the value {entry.value:g}{fix}",
            "value",
        )
    return ValidationError(
        f"{entry.name} on {entry.platform} for {span(start, end)} overlaps the period "
        f"{span(entry.start, entry.end)} already {logged} (value {entry.value:g}): summed by "
        "week it would be counted twice",
        "period",
        forceable=True,
    )


@dataclass
class ContactState:
    participant: str
    platform: str
    basis: str
    introducer: str | None


@dataclass(order=True)
class LeadStep:
    at: dt.datetime
    rank: int
    stage: str
    channel: str | None
    contact: str | None


class Ledger:
    """What the rules need to know, cached per transaction."""

    def __init__(self, conn: Connection, tz: dt.tzinfo = dt.UTC):
        self.conn = conn
        self.tz = tz
        self._participants: set[str] = set()
        self._contacts: dict[str, ContactState | None] = {}
        self._membership: dict[str, list[tuple[dt.datetime, bool]]] = {}
        self._leads: dict[tuple[str, str], list[LeadStep]] = {}
        self._source_keys: dict[str, set[str]] = {}
        self._metrics: dict[str, dict[tuple[str, str], list[MetricEntry]]] = {}
        self._superseded: set[int] | None = None

    # corrections --------------------------------------------------------------------------
    def superseded(self) -> set[int]:
        """Ids of the events a later one corrects (few: loaded once per transaction)."""
        if self._superseded is None:
            e = store.events.c
            self._superseded = set(
                self.conn.execute(select(e.supersedes).where(e.supersedes.is_not(None))).scalars()
            )
        return self._superseded

    def check_supersedes(self, ev: Event) -> None:
        """A correction names an event of the same participant and kind, not corrected yet."""
        e = store.events.c
        row = self.conn.execute(select(e.participant, e.kind).where(e.id == ev.supersedes)).first()
        if row is None:
            raise ValidationError(f"there is no event {ev.supersedes}", "supersedes")
        if row.participant != ev.participant or row.kind != ev.kind:
            raise ValidationError(
                f"event {ev.supersedes} is a {row.kind} of participant {row.participant!r}; a "
                f"correction is of the same kind and participant",
                "supersedes",
            )
        if ev.supersedes in self.superseded():
            later = self.conn.execute(select(e.id).where(e.supersedes == ev.supersedes)).scalar()
            raise ValidationError(
                f"event {ev.supersedes} is corrected already by event {later}; correct that one",
                "supersedes",
            )

    def forget_superseded(self, ev: Event, *, undo: bool = False) -> None:
        """For a correction: the caches drop what they knew (reloaded without the corrected
        event when next asked; the batch flushed its queue first). ``undo``: the correction
        was refused, the corrected event counts again."""
        if undo:
            self.superseded().discard(int(ev.supersedes))  # type: ignore[arg-type]
        else:
            self.superseded().add(int(ev.supersedes))  # type: ignore[arg-type]
        self._membership.clear()
        self._leads.clear()
        self._metrics.pop(ev.participant, None)

    def next_occurrence(self, source: str, key: str) -> int:
        """The next free occurrence number of a content key (``key#2``, ``key#3``, ...)."""
        e = store.events.c
        taken = set(
            self.conn.execute(
                select(e.source_key).where(
                    and_(e.source == source, e.source_key.like(key.replace("%", "") + "#%"))
                )
            ).scalars()
        ) | {k for k in self._source_keys.get(source, ()) if k.startswith(key + "#")}
        n = 2
        while f"{key}#{n}" in taken:
            n += 1
        return n

    # metrics ------------------------------------------------------------------------------
    def lock_metrics(self, participants: list[str]) -> None:
        """On PostgreSQL, hold the participants' metric lock until the transaction ends, so
        that the metric rule's reading and the insert are one step for other writers (SQLite
        writers are one at a time anyway)."""
        if self.conn.dialect.name != "postgresql":
            return
        for pid in sorted(set(participants)):
            self.conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (METRIC_LOCK, pid)
            )

    def metrics(self, participant: str) -> dict[tuple[str, str], list[MetricEntry]]:
        """The participant's metric values (corrected ones left out), by (platform, name)."""
        if participant not in self._metrics:
            self.lock_metrics([participant])
            e = store.events.c
            rows = self.conn.execute(
                select(e.id, e.platform, e.occurred_at, e.value, e.attributes).where(
                    and_(e.participant == participant, e.kind == "metric")
                )
            ).all()
            gone = self.superseded()
            found: dict[tuple[str, str], list[MetricEntry]] = {}
            for r in rows:
                if r.id in gone:
                    continue
                name = r.attributes["name"]
                start, end = metric_span(name, r.attributes, r.occurred_at, self.tz)
                found.setdefault((r.platform, name), []).append(
                    MetricEntry(r.id, r.platform, name, start, end, r.value)
                )
            self._metrics[participant] = found
        return self._metrics[participant]

    def check_metric(self, ev: Event, *, force: bool = False) -> MetricEntry | None:
        """The metric rule for ``ev`` (platform filled in already): the entry it repeats (a
        duplicate: the same value already logged), None if it is new, an error if it
        contradicts or overlaps one."""
        name = ev.attributes["name"]
        start, end = metric_span(name, ev.attributes, ev.occurred_at, self.tz)
        entries = self.metrics(ev.participant).get((ev.platform, name), [])
        if ev.supersedes is not None:
            entries = [e for e in entries if e.id != ev.supersedes]
        found = metric_conflict(entries, start, end, ev.value, force)
        if found is None:
            return None
        how, entry = found
        if how == "same":
            return entry
        raise metric_error(how, entry, start, end, self.tz)

    # participants -------------------------------------------------------------------------
    def has_participant(self, pid: str) -> bool:
        if pid in self._participants:
            return True
        found = self.conn.execute(
            select(store.participants.c.id).where(store.participants.c.id == pid)
        ).first()
        if found:
            self._participants.add(pid)
        return bool(found)

    def note_participant(self, pid: str) -> None:
        self._participants.add(pid)

    # contacts -----------------------------------------------------------------------------
    def contact(self, key: str) -> ContactState | None:
        if key not in self._contacts:
            c = store.contacts.c
            row = self.conn.execute(
                select(c.participant, c.platform, c.basis, c.introducer).where(c.key == key)
            ).first()
            self._contacts[key] = ContactState(*row) if row else None
        return self._contacts[key]

    def preload_contacts(self, keys: list[str]) -> None:
        """Look many contacts up at once (unknown keys are remembered as unknown), so a bulk
        writer such as the simulator does not query the database once per contact."""
        todo = [k for k in dict.fromkeys(keys) if k not in self._contacts]
        c = store.contacts.c
        for i in range(0, len(todo), 500):
            chunk = todo[i : i + 500]
            rows = self.conn.execute(
                select(c.key, c.participant, c.platform, c.basis, c.introducer).where(
                    c.key.in_(chunk)
                )
            ).all()
            found = {r.key: ContactState(*r[1:]) for r in rows}
            for k in chunk:
                self._contacts[k] = found.get(k)

    def note_contact(self, key: str, state: ContactState, *, new: bool) -> None:
        self._contacts[key] = state
        if new:
            self._membership[key] = []

    def require_contact(self, key: str, participant: str, field: str = "contact") -> ContactState:
        state = self.contact(key)
        if state is None:
            raise ValidationError(
                f"unknown contact {key!r} (`study contacts --names` lists the contacts)", field
            )
        if state.participant != participant:
            raise ValidationError(
                f"contact {key!r} belongs to participant {state.participant!r}, not {participant!r}",
                field,
            )
        return state

    def _membership_of(self, key: str) -> list[tuple[dt.datetime, bool]]:
        if key not in self._membership:
            e = store.events.c
            rows = self.conn.execute(
                select(e.id, e.occurred_at, e.kind).where(
                    and_(e.contact == key, e.kind.in_(["contact_removed", *READDING_KINDS]))
                )
            ).all()
            gone = self.superseded()
            self._membership[key] = sorted(
                (r.occurred_at, r.kind == "contact_removed") for r in rows if r.id not in gone
            )
        return self._membership[key]

    def removed_at(self, key: str, at: dt.datetime) -> dt.datetime | None:
        """When the tie was removed, if it stands removed just before ``at``."""
        steps = self._membership_of(key)
        i = bisect.bisect_left(steps, (at, False))
        if i == 0:
            return None
        when, removed = steps[i - 1]
        return when if removed else None

    # sources ------------------------------------------------------------------------------
    def is_duplicate(self, source: str, source_key: str | None) -> bool:
        if source_key is None:
            return False
        keys = self._source_keys.get(source)
        if keys is None:
            e = store.events.c
            keys = set(
                self.conn.execute(
                    select(e.source_key).where(and_(e.source == source, e.source_key.is_not(None)))
                ).scalars()
            )
            self._source_keys[source] = keys
        return source_key in keys

    # leads --------------------------------------------------------------------------------
    def _lead_steps(self, participant: str, lead: str) -> list[LeadStep]:
        ident = (participant, lead)
        if ident not in self._leads:
            gone = self.superseded()
            rows = [
                r
                for r in self.conn.execute(lead_steps_query(participant, lead)).all()
                if r.id not in gone
            ]
            self._leads[ident] = sorted(
                LeadStep(
                    r.occurred_at,
                    RANK[r.attributes["stage"]],
                    r.attributes["stage"],
                    r.attributes.get("channel"),
                    r.contact,
                )
                for r in rows
            )
        return self._leads[ident]

    # the check ----------------------------------------------------------------------------
    def check(self, ev: Event, *, force: bool = False) -> None:
        """Apply the stateful rules to ``ev``, filling in defaults; raise on a broken rule."""
        if not self.has_participant(ev.participant):
            raise ValidationError(
                f"unknown participant {ev.participant!r} (add it with `study participant add`)",
                "participant",
            )
        if ev.contact is not None:
            state = self.require_contact(ev.contact, ev.participant)
            if ev.platform is None:
                ev.platform = state.platform
            elif ev.platform != state.platform:
                raise ValidationError(
                    f"contact {ev.contact!r} is a {state.platform} contact, not {ev.platform}",
                    "platform",
                )
            if ev.kind not in ALLOWED_WHILE_REMOVED and not force:
                when = self.removed_at(ev.contact, ev.occurred_at)
                if when is not None:
                    raise ValidationError(
                        f"contact {ev.contact!r} was removed on {when.date()} and not re-added "
                        "since (log request_accepted first)",
                        "contact",
                        forceable=True,
                    )
            if ev.kind in ("introduction", "vouch_check"):
                self._check_introducer(ev, state)
            if ev.kind == "introduction" and state.basis == "none" and not force:
                raise ValidationError(
                    f"contact {ev.contact!r} has basis none (accepted without any prior "
                    "contact), so nobody introduced them; set the basis to introduced first",
                    "contact",
                    forceable=True,
                )
        elif ev.platform is None:
            if ev.kind in PLATFORM_REQUIRED:
                raise ValidationError(
                    f"required for {ev.kind} (one of: xing, linkedin, other)", "platform"
                )
            ev.platform = "other"
        if ev.kind == "job_lead":
            self._check_lead(ev, force)

    def _check_introducer(self, ev: Event, state: ContactState) -> None:
        introducer = ev.attributes.get("introducer") or state.introducer
        if not introducer:
            raise ValidationError(
                f"contact {ev.contact!r} has no recorded introducer; name one with --introducer",
                "introducer",
            )
        if introducer == ev.contact:
            raise ValidationError("a contact cannot introduce themselves", "introducer")
        self.require_contact(introducer, ev.participant, "introducer")
        ev.attributes["introducer"] = introducer

    def _check_lead(self, ev: Event, force: bool) -> None:
        lead, stage = ev.attributes["lead"], ev.attributes["stage"]
        steps = self._lead_steps(ev.participant, lead)
        rank = RANK[stage]
        first = steps[0] if steps else None
        if first is None or ev.occurred_at < first.at:
            if not ev.attributes.get("channel"):
                raise ValidationError(
                    f"required on the first event of lead {lead!r} (one of: recruiter, referral, "
                    "posting, project_inquiry, other)",
                    "channel",
                )
        else:
            ev.attributes.setdefault("channel", first.channel)
            if ev.contact is None and first.contact is not None:
                ev.contact = first.contact
        if force:
            return
        before = [s for s in steps if s.at <= ev.occurred_at]
        after = [s for s in steps if s.at > ev.occurred_at]
        closed = next((s for s in before if s.stage in LEAD_CLOSING), None)
        if closed is not None:
            raise ValidationError(
                f"lead {lead!r} was closed ({closed.stage}) on {closed.at.date()}; nothing follows",
                "stage",
                forceable=True,
            )
        again = next((s for s in steps if s.stage == stage), None)
        if again is not None:
            raise ValidationError(
                f"lead {lead!r} reached {stage!r} already on {again.at.date()} (a second "
                "application is a new lead; a second round of interviews is this lead again)",
                "stage",
                forceable=True,
            )
        highest = max((s.rank for s in before), default=-1)
        if rank < highest:
            prior = max(before, key=lambda s: s.rank)
            raise ValidationError(
                f"{stage!r} goes backwards: lead {lead!r} reached {prior.stage!r} on {prior.at.date()}",
                "stage",
                forceable=True,
            )
        if after and (stage in LEAD_CLOSING or rank > min(s.rank for s in after)):
            later = min(after, key=lambda s: s.rank)
            raise ValidationError(
                f"{stage!r} on {ev.occurred_at.date()} would come after lead {lead!r} reached "
                f"{later.stage!r} on {later.at.date()}",
                "stage",
                forceable=True,
            )

    def accept(self, ev: Event) -> None:
        """Record an accepted event in the caches so later checks in the batch see it."""
        if ev.source_key is not None:
            self._source_keys.setdefault(ev.source, set()).add(ev.source_key)
        if ev.kind == "metric" and ev.participant in self._metrics:
            name = ev.attributes["name"]
            start, end = metric_span(name, ev.attributes, ev.occurred_at, self.tz)
            self._metrics[ev.participant].setdefault((ev.platform, name), []).append(
                MetricEntry(None, ev.platform or "other", name, start, end, ev.value or 0.0)
            )
        if ev.contact is not None and (ev.kind == "contact_removed" or ev.kind in READDING_KINDS):
            bisect.insort(
                self._membership_of(ev.contact), (ev.occurred_at, ev.kind == "contact_removed")
            )
        if ev.kind == "job_lead":
            a: dict[str, Any] = ev.attributes
            bisect.insort(
                self._lead_steps(ev.participant, a["lead"]),
                LeadStep(
                    ev.occurred_at, RANK[a["stage"]], a["stage"], a.get("channel"), ev.contact
                ),
            )
