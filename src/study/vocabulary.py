"""Vocabulary v1: what the log can hold, and the rules an event must pass at the door.

Pure: no I/O. The store and the command line read the field specifications from here, so a
kind, a field or an allowed value is defined in exactly one place.

Rules enforced on a single event (stateless, :func:`validate`):

* every field has a type and, where it is a choice, a closed set of values;
* a metric value and every count are >= 0; ``googlability_rank`` is a rank, >= 1;
* ``completeness`` lies in 0..100;
* a count metric (``profile_views``, ``search_appearances``, ``post_impressions``) covers a
  period: period start and end are required, and the end may not precede the start;
* ``occurred_at`` (and a period's end) may not lie in the future.

Rules that need the log's state live in :mod:`study.rules` (an unknown contact, an event about a
removed contact before they are re-added, a lead stage going backwards, introductions).
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from study import periods
from study.errors import ValidationError

VOCABULARY_VERSION = 1

PLATFORMS = ("xing", "linkedin", "other")
BASES = ("knows_personally", "met_in_person", "introduced", "none", "unknown")
#: Bases (a) and (b) of the acceptance rule: the participant knows or has met the person.
FIRST_HAND_BASES = ("knows_personally", "met_in_person")
DIRECTIONS = ("in", "out")
SECTIONS = ("photo", "headline", "about", "experience", "skills", "other")
METRICS = (
    "profile_views",
    "search_appearances",
    "followers",
    "connections",
    "googlability_rank",
    "post_impressions",
)
#: Metrics that count things happening during a period; the others are levels at a moment.
COUNT_METRICS = ("profile_views", "search_appearances", "post_impressions")
CHANNELS = (
    "message",
    "call",
    "meeting",
    "event",
    "comment",
    "reaction",
    "recommendation",
    "endorsement",
)
ACTIVITY_TYPES = ("group_post", "article", "talk", "group_moderation", "event_organized", "comment")
LEAD_CHANNELS = ("recruiter", "referral", "posting", "project_inquiry", "other")
LEAD_STAGES = ("lead", "applied", "interview", "offer", "accepted", "rejected", "withdrawn")
#: Stages a lead moves through in order; the closing stages end it.
LEAD_PROGRESS = ("lead", "applied", "interview", "offer", "accepted")
LEAD_CLOSING = ("accepted", "rejected", "withdrawn")
VOUCH_OUTCOMES = ("known", "unknown")

#: An introducer with this many connections or more is a contact collector (Kontaktsammler).
COLLECTOR_CONNECTIONS = 500

DEFAULT_PARTICIPANT = "me"
DEFAULT_TIMEZONE = "Europe/Berlin"
#: Clock skew tolerated before an event counts as "in the future".
FUTURE_TOLERANCE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Field:
    """One field of a kind: its type, whether it is required, and its allowed values."""

    name: str
    type: str  # choice | bool | number | int | text | contact | lead | date
    help: str
    required: bool = True
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Kind:
    """An event kind: its fields, which field goes to the numeric ``value`` column, and why."""

    name: str
    doc: str
    fields: tuple[Field, ...] = ()
    value_field: str | None = None
    example: str = ""

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def contact_rule(self) -> str:
        """``required``, ``optional`` or ``none``."""
        f = self.field("contact")
        if f is None:
            return "none"
        return "required" if f.required else "optional"


def _contact(required: bool = True, help: str = "the contact's key") -> Field:
    return Field("contact", "contact", help, required=required)


_DIRECTION = Field(
    "direction",
    "choice",
    "who acted: in (the contact) or out (the participant)",
    choices=DIRECTIONS,
)
#: For request_accepted/declined/withdrawn: the direction of the *request* the answer is about
#: (as the importers and the simulator log it), not who answered.
_REQUEST_DIRECTION = Field(
    "direction",
    "choice",
    "whose request: out (the participant's request) or in (the contact's request)",
    choices=DIRECTIONS,
)
_WITH_MESSAGE = Field(
    "with_message", "bool", "a personal message came with the request", required=False
)

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "profile_updated",
            "The participant worked on the profile (the intervention of research question 3).",
            (
                Field("section", "choice", "which part of the profile", choices=SECTIONS),
                Field(
                    "completeness",
                    "number",
                    "profile completeness after the change, 0-100",
                    required=False,
                    minimum=0,
                    maximum=100,
                ),
            ),
            value_field="completeness",
            example="study log profile_updated --section about --completeness 80 --platform xing",
        ),
        Kind(
            "metric",
            "A figure read off the platform: a count over a period, or a level at a moment.",
            (
                Field("name", "choice", "which metric", choices=METRICS),
                Field("value", "number", "the figure (>= 0; a rank >= 1)", minimum=0),
                Field(
                    "period_start",
                    "date",
                    "first day the count covers (count metrics)",
                    required=False,
                ),
                Field(
                    "period_end",
                    "date",
                    "last day the count covers (count metrics)",
                    required=False,
                ),
            ),
            value_field="value",
            example="study log metric --name profile_views --value 37 --period 2026-11-01..2026-11-07 --platform xing",
        ),
        Kind(
            "request_sent",
            "The participant sent a contact request.",
            (_contact(), _WITH_MESSAGE),
            example="study log request_sent --contact c-1a2b3c4d5e --with-message",
        ),
        Kind(
            "request_received",
            "The participant received a contact request.",
            (_contact(), _WITH_MESSAGE),
            example="study log request_received --contact c-1a2b3c4d5e --no-message",
        ),
        Kind(
            "request_accepted",
            "A request was accepted: the tie starts (or starts again after a removal).",
            (_contact(), _REQUEST_DIRECTION),
            example="study log request_accepted --contact c-1a2b3c4d5e --direction in",
        ),
        Kind(
            "request_declined",
            "A request was declined.",
            (_contact(), _REQUEST_DIRECTION),
            example="study log request_declined --contact c-1a2b3c4d5e --direction in",
        ),
        Kind(
            "request_withdrawn",
            "A request was withdrawn by the side that sent it.",
            (_contact(), _REQUEST_DIRECTION),
            example="study log request_withdrawn --contact c-1a2b3c4d5e --direction out",
        ),
        Kind(
            "interaction",
            "Something happened between the participant and a contact.",
            (
                _contact(),
                Field("channel", "choice", "how", choices=CHANNELS),
                _DIRECTION,
            ),
            example="study log interaction --contact c-1a2b3c4d5e --channel call --direction out",
        ),
        Kind(
            "introduction",
            "A first-degree contact (the introducer) connected the participant to a new contact.",
            (
                _contact(help="the new (second-degree) contact"),
                Field(
                    "introducer",
                    "contact",
                    "the first-degree contact who made the introduction "
                    "(default: the contact's recorded introducer)",
                    required=False,
                ),
                Field(
                    "introducer_connections",
                    "number",
                    f"the introducer's number of connections, if known ({COLLECTOR_CONNECTIONS}+ marks a "
                    "contact collector)",
                    required=False,
                    minimum=0,
                ),
            ),
            example="study log introduction --contact c-2b3c4d5e6f --introducer c-1a2b3c4d5e "
            "--introducer-connections 740",
        ),
        Kind(
            "vouch_check",
            "Did the introducer and the contact really know each other? "
            "'Who? Never heard of him' is unknown.",
            (
                _contact(),
                Field("outcome", "choice", "the answer", choices=VOUCH_OUTCOMES),
                Field(
                    "introducer",
                    "contact",
                    "the introducer asked about (default: the contact's recorded introducer)",
                    required=False,
                ),
            ),
            example="study log vouch_check --contact c-2b3c4d5e6f --outcome known",
        ),
        Kind(
            "contact_removed",
            "The tie was removed (pruning: nobody remembers where they know each other from).",
            (
                _contact(),
                # Optional: when a removal is only known to lie between two exports (an
                # import's snapshot diff), the interval; the event is dated at its midpoint.
                Field(
                    "removed_after",
                    "date",
                    "known to exist on this day (the removal came later)",
                    required=False,
                ),
                Field(
                    "removed_before",
                    "date",
                    "known to be gone on this day (the removal came earlier)",
                    required=False,
                ),
            ),
            example="study log contact_removed --contact c-1a2b3c4d5e",
        ),
        Kind(
            "contact_hidden",
            "The contact's posts were hidden (or the contact hid the participant's).",
            (_contact(),),
            example="study log contact_hidden --contact c-1a2b3c4d5e",
        ),
        Kind(
            "contact_followed",
            "The participant follows the contact (or is followed: see direction).",
            (
                _contact(),
                Field(
                    "direction",
                    "choice",
                    "in: the contact follows the participant",
                    required=False,
                    choices=DIRECTIONS,
                ),
            ),
            example="study log contact_followed --contact c-1a2b3c4d5e",
        ),
        Kind(
            "contact_unfollowed",
            "A follow ended.",
            (
                _contact(),
                Field(
                    "direction",
                    "choice",
                    "in: the contact stopped following",
                    required=False,
                    choices=DIRECTIONS,
                ),
            ),
            example="study log contact_unfollowed --contact c-1a2b3c4d5e",
        ),
        Kind(
            "activity",
            "The participant's own activity: a group post, an article, a talk, ...",
            (
                Field("type", "choice", "what kind of activity", choices=ACTIVITY_TYPES),
                Field("topic", "text", "what it was about", required=False),
            ),
            example="study log activity --type talk --topic 'Networking that lasts' --platform xing",
        ),
        Kind(
            "job_lead",
            "A job lead and each stage it reaches; the lead id links the stages.",
            (
                Field("lead", "lead", "the lead's id (the same for every stage of one lead)"),
                _contact(required=False, help="the contact it came through"),
                Field(
                    "channel",
                    "choice",
                    "where it came from (required on a lead's first event)",
                    required=False,
                    choices=LEAD_CHANNELS,
                ),
                Field("stage", "choice", "how far it got", choices=LEAD_STAGES),
            ),
            example="study log job_lead --lead L1 --channel recruiter --stage lead",
        ),
        Kind(
            "note",
            "Free text, optionally about a contact.",
            (Field("text", "text", "the note"), _contact(required=False)),
            example="study log note --text 'Met at the XING regional meeting'",
        ),
    )
}

#: Every attribute a kind may store beside the fixed columns (for flat tables).
ATTRIBUTE_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        f.name
        for k in KINDS.values()
        for f in k.fields
        if f.name != "contact" and f.name != k.value_field
    )
)

_TRUE = {"true", "yes", "1", "y", "ja", "j", "on"}
_FALSE = {"false", "no", "0", "n", "nein", "off"}


@dataclass
class Event:
    """A validated event, ready for the store."""

    participant: str
    platform: str | None
    occurred_at: dt.datetime
    kind: str
    contact: str | None = None
    value: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = "manual"
    source_key: str | None = None


def choices_text(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def check_choice(value: Any, allowed: tuple[str, ...], name: str) -> str:
    """Return ``value`` as a string if it is one of ``allowed``, else raise naming the field."""
    text = str(value).strip() if value is not None else ""
    if text not in allowed:
        shown = repr(value) if value not in (None, "") else "missing"
        raise ValidationError(f"{shown} is not allowed (one of: {choices_text(allowed)})", name)
    return text


def parse_datetime(value: Any, tz: dt.tzinfo, name: str = "at") -> dt.datetime:
    """A date or datetime (object or ISO text) as an aware UTC datetime.

    A naive time is read in the study's time zone; a bare date means noon there, so that the
    day survives any conversion between time zones.
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(12, 0))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValidationError(
                "missing (a date like 2026-11-21 or a time like 2026-11-21T14:30)", name
            )
        try:
            if len(text) == 10:
                moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12, 0))
            else:
                moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{text!r} is not a date or time (use 2026-11-21 or 2026-11-21T14:30)", name
            ) from None
    else:
        raise ValidationError(f"{value!r} is not a date or time", name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00 east of UTC, 9999-12-31T23:59 west of it
        utc = None
    if utc is None or utc.date() < FIRST_DAY:  # later ones: stored times may not be future
        raise ValidationError(f"{str(value).strip()!r} {_OUTSIDE}", name)
    return utc


#: Dates the log holds: analysis tables are pandas datetimes (years 1677 to 2262), and a date
#: outside them, once stored, would break every later read of the log. A time (``at``,
#: ``first_seen``) is also refused when it lies in the future; a date field by this range.
FIRST_DAY, END_DAY = dt.date(1900, 1, 1), dt.date(2200, 1, 1)
_OUTSIDE = f"is outside the dates the log holds ({FIRST_DAY} to {END_DAY.year - 1}-12-31)"


def parse_date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(f"{value!r} is not a date (use 2026-11-21)", name) from None
    if not FIRST_DAY <= day < END_DAY:
        raise ValidationError(f"{str(value).strip()!r} {_OUTSIDE}", name)
    return day


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """A period's first and last day (inclusive), in the syntax reports use too
    (:func:`study.periods.parse_period`): ``2026-11-01..2026-11-07``, a month ``2026-11``, a
    quarter ``2026-Q3`` or a year ``2026``."""
    p = periods.parse_period(text)
    return p.start, p.end


def parse_bool(value: Any, name: str) -> bool:
    """Yes or no, from a bool, 0 or 1, or words (yes/no, true/false, ja/nein, ...): never
    Python's truth of the cell, by which the text "no" would count as yes."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Number) and value in (0, 1):  # NumPy's too; 1.0 from a CSV
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(f"{value!r} is not yes or no", name)


def parse_number(value: Any, spec: Field) -> float:
    if isinstance(value, bool):
        raise ValidationError(f"{value!r} is not a number", spec.name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{value!r} is not a number", spec.name) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(f"{value!r} is not a finite number", spec.name)
    if spec.minimum is not None and number < spec.minimum:
        raise ValidationError(f"{value!r} is below the minimum {spec.minimum:g}", spec.name)
    if spec.maximum is not None and number > spec.maximum:
        raise ValidationError(f"{value!r} is above the maximum {spec.maximum:g}", spec.name)
    return number


#: Longest contact detail (name, URL, company, position, e-mail): a name of megabytes is a
#: mistake or an attack, and every report and export would carry it.
MAX_DETAIL = 1_000


def storable_text(text: str) -> bool:
    """What :func:`check_text` accepts (for checks over many values that must not raise)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def check_text(text: str, name: str) -> str:
    """Refuse text that cannot be stored: bytes that were not UTF-8 (a Latin-1 terminal or
    file reaches Python as lone surrogates) and NUL characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{text!r} is not valid text (not UTF-8; set your terminal or file to UTF-8)", name
        ) from None
    if "\x00" in text:
        raise ValidationError("contains a NUL character", name)
    return text


def _clean_key(value: Any, name: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 200:
        raise ValidationError("missing or longer than 200 characters", name)
    return check_text(text, name)


def validate(
    kind: str,
    fields: dict[str, Any],
    *,
    participant: str = DEFAULT_PARTICIPANT,
    platform: str | None = None,
    at: Any = None,
    tz: dt.tzinfo | None = None,
    now: dt.datetime | None = None,
    source: str = "manual",
    source_key: str | None = None,
) -> Event:
    """Check one event against the vocabulary and return it typed; raise on the first problem.

    ``fields`` holds the kind's fields by name; ``period`` (``START..END``, ``2026-11``, ``2026-Q3``, ``2026``, or a pair of dates)
    may stand for ``period_start`` and ``period_end``. Missing ``at`` means now.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationError(
            f"{kind!r} is not an event kind (one of: {choices_text(tuple(KINDS))})", "kind"
        )
    tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
    now = now or dt.datetime.now(dt.UTC)
    fields = {k: v for k, v in fields.items() if v is not None}
    period = fields.pop("period", None)
    if period is not None:
        if isinstance(period, str):
            start, end = parse_period(period)
        elif isinstance(period, (list, tuple)) and len(period) == 2:
            start, end = parse_date(period[0], "period"), parse_date(period[1], "period")
        else:
            raise ValidationError(
                f"{period!r} is not a period (use 2026-11-01..2026-11-07, 2026-11, 2026-Q3 "
                "or 2026)",
                "period",
            )
        fields.setdefault("period_start", start)
        fields.setdefault("period_end", end)
    unknown = set(fields) - {f.name for f in spec.fields}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(
            f"not a field of {kind} (its fields: {choices_text(tuple(f.name for f in spec.fields)) or 'none'})",
            name,
        )

    participant = _clean_key(participant, "participant")
    if platform is not None:
        platform = check_choice(platform, PLATFORMS, "platform")

    contact: str | None = None
    value: float | None = None
    attributes: dict[str, Any] = {}
    for f in spec.fields:
        raw = fields.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip() and f.type != "text"):
            if f.required:
                hint = f" (one of: {choices_text(f.choices)})" if f.choices else f" ({f.help})"
                raise ValidationError(f"required for {kind}{hint}", f.name)
            continue
        if f.type == "choice":
            parsed: Any = check_choice(raw, f.choices, f.name)
        elif f.type == "bool":
            parsed = parse_bool(raw, f.name)
        elif f.type in ("number", "int"):
            parsed = parse_number(raw, f)
        elif f.type == "date":
            parsed = parse_date(raw, f.name)
        elif f.type in ("contact", "lead"):
            parsed = _clean_key(raw, f.name)
        else:  # text
            parsed = str(raw)
            if f.required and not parsed.strip():
                raise ValidationError(f"required for {kind} ({f.help})", f.name)
            if len(parsed) > 10_000:
                raise ValidationError("longer than 10,000 characters", f.name)
            check_text(parsed, f.name)
        if f.name == "contact":
            contact = parsed
        elif f.name == spec.value_field:
            value = float(parsed)
        else:
            attributes[f.name] = parsed

    occurred_at = parse_datetime(at, tz, "at") if at is not None else now
    if occurred_at > now + FUTURE_TOLERANCE:
        raise ValidationError(f"{occurred_at.isoformat()} lies in the future", "at")

    if kind == "metric":
        name = attributes["name"]
        if name == "googlability_rank" and value is not None and value < 1:
            raise ValidationError(f"{value:g} is not a rank (ranks start at 1)", "value")
        start, end = attributes.get("period_start"), attributes.get("period_end")
        if name in COUNT_METRICS and (start is None or end is None):
            raise ValidationError(
                f"a count metric ({name}) covers a period: give --period (e.g. 2026-11-01..2026-11-07 or 2026-11)",
                "period",
            )
        if (start is None) != (end is None):
            raise ValidationError("give both the start and the end of the period", "period")
        if start is not None and end is not None:
            if end < start:
                raise ValidationError(f"the end {end} precedes the start {start}", "period")
            local_today = now.astimezone(tz).date()
            if end > local_today:
                raise ValidationError(f"the end {end} lies in the future", "period")
            if at is None:
                occurred_at = min(parse_datetime(end, tz, "period"), now)
            attributes["period_start"] = start.isoformat()
            attributes["period_end"] = end.isoformat()
    for name in ("removed_after", "removed_before"):
        if isinstance(attributes.get(name), dt.date):
            attributes[name] = attributes[name].isoformat()
    after, before = attributes.get("removed_after"), attributes.get("removed_before")
    if after is not None and before is not None and before < after:
        raise ValidationError(f"{before} precedes removed_after {after}", "removed_before")

    return Event(
        participant=participant,
        platform=platform,
        occurred_at=occurred_at,
        kind=kind,
        contact=contact,
        value=value,
        attributes=attributes,
        source=check_source(source),
        source_key=None if source_key is None else _clean_key(source_key, "source_key"),
    )


def check_source(source: Any) -> str:
    """Where events came from (``manual``, ``linkedin:connections``, a file's name): text
    the log can hold, at most 200 characters; empty means ``manual``."""
    if source is None or (isinstance(source, str) and not source.strip()):
        return "manual"
    text = check_text(str(source), "source")
    if len(text) > 200:
        raise ValidationError("longer than 200 characters", "source")
    return text


def check_basis(basis: Any, introducer: str | None) -> str:
    """A contact's basis, and the rule that basis (c) names its introducer."""
    basis = check_choice(basis, BASES, "basis")
    if basis == "introduced" and not introducer:
        raise ValidationError(
            "basis introduced requires the introducer (--introducer KEY)", "introducer"
        )
    return basis
