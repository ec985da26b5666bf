"""The consistency rules of issue 17, each a measured defect that passed without a word: through
``log``, through ``log_frame`` (the same first error) and, where it is typed, the command line."""

from __future__ import annotations

import pandas as pd
import pytest

from study.errors import ValidationError


def _frame_error(s, **row) -> str:
    frame = pd.DataFrame([row])
    with pytest.raises(ValidationError) as err, s.batch() as b:
        b.log_frame(frame)
    return str(err.value)


def test_an_introducer_only_with_basis_introduced(s):
    a = s.add_contact("Anna Beispiel", platform="xing", basis="met_in_person")
    with pytest.raises(ValidationError, match="introducer belongs to basis introduced only") as e:
        s.add_contact("Bernd Muster", platform="xing", basis="knows_personally", introducer=a)
    assert e.value.field == "introducer"
    b = s.add_contact("Bernd Muster", platform="xing", basis="met_in_person")
    with pytest.raises(ValidationError, match="basis introduced only, not none"):
        s.set_basis(b, "none", introducer=a)
    s.set_basis(b, "introduced", introducer=a)  # the one right way
    with pytest.raises(ValidationError, match="basis introduced only"), s.batch() as batch:
        batch.add_contacts(
            pd.DataFrame([{"platform": "xing", "basis": "none", "introducer": a, "key": "c-x"}])
        )


def test_no_introduction_of_a_contact_accepted_without_prior_contact(s):
    a = s.add_contact("Anna Beispiel", platform="xing", basis="met_in_person")
    n = s.add_contact("Norbert Niemand", platform="xing", basis="none")
    with pytest.raises(ValidationError, match="has basis none") as e:
        s.log("introduction", contact=n, introducer=a, at="2026-01-01")
    assert e.value.forceable
    assert "has basis none" in _frame_error(
        s, kind="introduction", occurred_at=pd.Timestamp("2026-01-01", tz="UTC"), contact=n,
        introducer=a,
    )  # fmt: skip
    s.log("introduction", contact=n, introducer=a, at="2026-01-01", force=True)


def test_counts_are_whole_numbers(s):
    views = dict(name="profile_views", period="2026-11-01..2026-11-07", platform="xing")
    with pytest.raises(ValidationError, match="12.5 is not a whole number") as e:
        s.log("metric", value=12.5, **views)
    assert e.value.field == "value"
    assert "not a whole number" in _frame_error(
        s, kind="metric", occurred_at=None, name="followers", value=120.5, platform="xing"
    )
    assert s.log("metric", value="12", **views) is not None


def test_a_level_takes_a_moment_not_a_period(cli):
    """Measured: --period on followers (a level) was accepted."""
    cli("init")
    code, _, err = cli("log", "metric", "--name", "followers", "--value", "120",
                       "--period", "2026-11-01..2026-11-07", "--platform", "xing")  # fmt: skip
    assert code == 2 and "followers is a level read at a moment" in err and "--at" in err
    code, out, _ = cli("log", "metric", "--name", "followers", "--value", "120", "--at",
                       "2026-11-07", "--platform", "xing")  # fmt: skip
    assert code == 0 and out.startswith("logged metric")


def test_a_lead_stage_is_not_repeated(s):
    s.log("job_lead", lead="L1", channel="recruiter", stage="lead", at="2026-01-01")
    s.log("job_lead", lead="L1", stage="applied", at="2026-01-05")
    with pytest.raises(ValidationError, match="reached 'applied' already on 2026-01-05"):
        s.log("job_lead", lead="L1", stage="applied", at="2026-01-09")
    assert "reached 'applied' already" in _frame_error(
        s, kind="job_lead", occurred_at=pd.Timestamp("2026-01-09", tz="UTC"), lead="L1",
        stage="applied",
    )  # fmt: skip


def test_a_local_time_that_does_not_exist_is_refused(s):
    """Measured: 02:30 on the night summer time begins was stored as something."""
    with pytest.raises(ValidationError, match="2026-03-29 02:30 does not exist in Europe/Berlin"):
        s.log("note", text="x", at="2026-03-29 02:30")
    assert "does not exist" in _frame_error(
        s, kind="note", occurred_at="2026-03-29T02:30", text="x"
    )
    s.log("note", text="x", at="2026-03-29 02:30+01:00")  # with its offset it is a moment


def test_an_ambiguous_local_time_is_the_first_of_the_two(s):
    """When summer time ends, 02:30 happens twice; it is read as the first (documented)."""
    s.log("note", text="first", at="2026-10-25 02:30")
    s.log("note", text="second", at="2026-10-25 02:30+01:00")
    at = s.events(kind="note").set_index("text").occurred_at
    assert at["first"] == pd.Timestamp("2026-10-25 00:30", tz="UTC")  # +02:00, summer time
    assert at["second"] - at["first"] == pd.Timedelta(hours=1)


def test_contact_takes_a_name_that_one_contact_has(cli):
    """Measured: --contact "Anna Beispiel" answered "unknown contact ... (add it with `study
    contact add`)", which invites a duplicate."""
    cli("init")
    _, key, _ = cli("contact", "add", "Anna Beispiel", "--platform", "xing", "--basis",
                    "met_in_person")  # fmt: skip
    key = key.strip()
    code, out, err = cli("log", "interaction", "--contact", "anna beispiel", "--channel", "call",
                         "--direction", "out", "--at", "2026-11-02")  # fmt: skip
    assert code == 0, err
    code, out, _ = cli("events", "--format", "csv")
    assert key in out
    cli("contact", "add", "Anna Beispiel", "--platform", "linkedin")
    code, _, err = cli("log", "interaction", "--contact", "Anna Beispiel", "--channel", "call",
                       "--direction", "out")  # fmt: skip
    assert code == 2 and "2 contacts are called 'Anna Beispiel'" in err and key in err
    code, _, err = cli("log", "interaction", "--contact", "Berta Nobody", "--channel", "call",
                       "--direction", "out")  # fmt: skip
    assert code == 2 and "unknown contact 'Berta Nobody'" in err and "--names" in err
    assert "add it with" not in err
    code, _, err = cli("contact", "add", "Bernd Muster", "--platform", "xing", "--basis",
                       "introduced", "--introducer", "c-nobody")  # fmt: skip
    assert code == 2 and "unknown contact 'c-nobody'" in err
    assert cli("contact", "set-basis", "Bernd Muster", "met_in_person")[0] == 2  # not added
    assert cli("contact", "add", "Bernd Muster", "--platform", "xing")[0] == 0
    assert cli("contact", "set-basis", "bernd muster", "met_in_person")[0] == 0
