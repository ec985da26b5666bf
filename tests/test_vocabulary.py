"""Each kind's valid and invalid forms, checked by the pure validator."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from study.errors import ValidationError
from study.vocabulary import KINDS, check_basis, validate

TZ = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)

VALID = {
    "profile_updated": {"section": "about", "completeness": 80},
    "metric": {"name": "profile_views", "value": 37, "period": "2026-11-01..2026-11-07"},
    "request_sent": {"contact": "c-1", "with_message": True},
    "request_received": {"contact": "c-1", "with_message": "no"},
    "request_accepted": {"contact": "c-1", "direction": "in"},
    "request_declined": {"contact": "c-1", "direction": "out"},
    "request_withdrawn": {"contact": "c-1", "direction": "out"},
    "interaction": {"contact": "c-1", "channel": "call", "direction": "out"},
    "introduction": {"contact": "c-2", "introducer": "c-1"},
    "vouch_check": {"contact": "c-2", "outcome": "unknown"},
    "contact_removed": {"contact": "c-1"},
    "contact_hidden": {"contact": "c-1"},
    "contact_followed": {"contact": "c-1"},
    "contact_unfollowed": {"contact": "c-1", "direction": "in"},
    "activity": {"type": "talk", "topic": "Nachhaltigkeit"},
    "job_lead": {"lead": "L1", "channel": "referral", "stage": "lead", "contact": "c-1"},
    "note": {"text": "Wo kennen wir uns her?"},
}

#: For each kind: one broken form and the field the error must name.
INVALID = {
    "profile_updated": ({"section": "hobbies"}, "section"),
    "metric": ({"name": "profile_views", "value": -3, "period": "2026-11-01..2026-11-07"}, "value"),
    "request_sent": ({"contact": "c-1", "with_message": "maybe"}, "with_message"),
    "request_received": ({}, "contact"),
    "request_accepted": ({"contact": "c-1", "direction": "sideways"}, "direction"),
    "request_declined": ({"contact": "c-1"}, "direction"),
    "request_withdrawn": ({"direction": "out"}, "contact"),
    "interaction": ({"contact": "c-1", "channel": "telepathy", "direction": "in"}, "channel"),
    "introduction": ({"introducer": "c-1"}, "contact"),
    "vouch_check": ({"contact": "c-2", "outcome": "perhaps"}, "outcome"),
    "contact_removed": ({"contact": "  "}, "contact"),
    "contact_hidden": ({"contact": "c-1", "channel": "call"}, "channel"),
    "contact_followed": ({"contact": "c-1", "direction": "up"}, "direction"),
    "contact_unfollowed": ({}, "contact"),
    "activity": ({"type": "tweet"}, "type"),
    "job_lead": ({"lead": "L1", "stage": "hired"}, "stage"),
    "note": ({"text": "   "}, "text"),
}


def test_every_kind_has_a_valid_and_an_invalid_case():
    assert set(VALID) == set(KINDS) == set(INVALID)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_valid_forms_pass(kind):
    ev = validate(kind, dict(VALID[kind]), platform="xing", at="2026-11-10", tz=TZ, now=NOW)
    assert ev.kind == kind
    assert ev.occurred_at.tzinfo is dt.UTC
    assert ev.occurred_at == dt.datetime(2026, 11, 10, 11, 0, tzinfo=dt.UTC)  # noon in Berlin


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_invalid_forms_name_the_field(kind):
    fields, field = INVALID[kind]
    with pytest.raises(ValidationError) as err:
        validate(kind, dict(fields), platform="xing", at="2026-11-10", tz=TZ, now=NOW)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_choice_errors_list_the_allowed_values():
    with pytest.raises(ValidationError, match="one of: message, call, meeting"):
        validate("interaction", {"contact": "c", "channel": "fax", "direction": "in"}, now=NOW)


def test_unknown_kind_and_unknown_field():
    with pytest.raises(ValidationError, match="not an event kind") as err:
        validate("poke", {}, now=NOW)
    assert err.value.field == "kind"
    with pytest.raises(ValidationError, match="not a field of note") as err:
        validate("note", {"text": "x", "stage": "lead"}, now=NOW)
    assert err.value.field == "stage"


def test_future_is_refused():
    with pytest.raises(ValidationError, match="future") as err:
        validate("note", {"text": "x"}, at="2026-11-22", tz=TZ, now=NOW)
    assert err.value.field == "at"
    # a few minutes of clock skew are tolerated
    validate("note", {"text": "x"}, at=NOW + dt.timedelta(minutes=2), now=NOW)


def test_period_rules():
    with pytest.raises(ValidationError, match="precedes") as err:
        validate(
            "metric",
            {"name": "profile_views", "value": 1, "period": "2026-11-07..2026-11-01"},
            now=NOW,
        )
    assert err.value.field == "period"
    with pytest.raises(ValidationError, match="covers a period"):
        validate("metric", {"name": "search_appearances", "value": 1}, now=NOW)
    with pytest.raises(ValidationError, match="future"):
        validate(
            "metric",
            {"name": "profile_views", "value": 1, "period": "2026-11-20..2026-11-26"},
            now=NOW,
        )
    with pytest.raises(ValidationError, match="not a period"):
        validate("metric", {"name": "profile_views", "value": 1, "period": "last week"}, now=NOW)
    # a level metric needs no period, and a count's time defaults to the period's end
    level = validate("metric", {"name": "followers", "value": 120}, now=NOW)
    assert level.value == 120 and "period_start" not in level.attributes
    count = validate(
        "metric",
        {"name": "profile_views", "value": 5, "period": "2026-11-01..2026-11-07"},
        tz=TZ,
        now=NOW,
    )
    assert count.occurred_at.date() == dt.date(2026, 11, 7)
    assert count.attributes == {
        "name": "profile_views",
        "period_start": "2026-11-01",
        "period_end": "2026-11-07",
    }


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("2026-10", "2026-10-01", "2026-10-31"),
        ("2026-Q3", "2026-07-01", "2026-09-30"),
        ("2025", "2025-01-01", "2025-12-31"),
        ("2026-11-01..2026-11-07", "2026-11-01", "2026-11-07"),
    ],
)
def test_a_count_takes_every_period_a_report_takes(text: str, start: str, end: str) -> None:
    """One period syntax everywhere (study.periods): a month, a quarter, a year or a range."""
    from study.periods import parse_period

    ev = validate("metric", {"name": "profile_views", "value": 5, "period": text}, now=NOW)
    assert (ev.attributes["period_start"], ev.attributes["period_end"]) == (start, end)
    report = parse_period(text)
    assert (report.start.isoformat(), report.end.isoformat()) == (start, end)


def test_ranges():
    with pytest.raises(ValidationError, match="maximum 100"):
        validate("profile_updated", {"section": "about", "completeness": 101}, now=NOW)
    with pytest.raises(ValidationError, match="not a rank"):
        validate("metric", {"name": "googlability_rank", "value": 0}, now=NOW)
    with pytest.raises(ValidationError, match="finite"):
        validate("metric", {"name": "followers", "value": "nan"}, now=NOW)
    with pytest.raises(ValidationError, match="not a number"):
        validate("metric", {"name": "followers", "value": "many"}, now=NOW)


def test_times_are_read_in_the_study_time_zone_and_stored_as_utc():
    ev = validate("note", {"text": "x"}, at="2026-07-01T09:30", tz=TZ, now=NOW)
    assert ev.occurred_at == dt.datetime(2026, 7, 1, 7, 30, tzinfo=dt.UTC)  # CEST is UTC+2
    ev = validate("note", {"text": "x"}, at="2026-01-01T09:30+00:00", tz=TZ, now=NOW)
    assert ev.occurred_at == dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.UTC)
    with pytest.raises(ValidationError, match="not a date"):
        validate("note", {"text": "x"}, at="yesterday", tz=TZ, now=NOW)


def test_basis_rules():
    assert check_basis("met_in_person", None) == "met_in_person"
    assert check_basis("introduced", "c-1") == "introduced"
    with pytest.raises(ValidationError) as err:
        check_basis("introduced", None)
    assert err.value.field == "introducer"
    with pytest.raises(ValidationError, match="one of: knows_personally"):
        check_basis("friend", None)


def test_platform_must_be_known():
    with pytest.raises(ValidationError, match="one of: xing, linkedin, other"):
        validate("note", {"text": "x"}, platform="myspace", now=NOW)
