"""Tie survival on logs as a real researcher feeds them (issue 15): prevalent ties from an
archive, ties of unknown age, archives' old messages, per-platform observation starts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from export_fixtures import PREAMBLE, linkedin_files, write_zip
from helpers.frames import Log, day

import study
from study.analysis.sustainability import kaplan_meier, survival_rows
from study.tables.ties import observation_starts, ties


def one(t: pd.DataFrame, contact: str) -> pd.Series:
    rows = t[t["contact"] == contact]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_a_connection_from_years_back_is_prevalent_and_its_quiet_clock_starts_with_the_log() -> (
    None
):
    log = Log()
    log.contact("old", platform="linkedin")
    log.log("request_accepted", -3000, "old", direction="in", platform="linkedin")
    log.contact("new", platform="linkedin")
    log.accepted("new", 0)  # the log begins: the first request, day 0
    log.rows[-2]["platform"] = log.rows[-1]["platform"] = "linkedin"
    # before W has passed: alive, known alive from the observation start
    r = one(ties(log.events(), log.contacts(), cutoff=day(200)), "old")
    assert r["prevalent"] and r["observed_from"] == day(0) and r["age_known"]
    assert (r["end_reason"], r["end"]) == ("censored", day(0))
    # a year on with no interaction: quiet from the log's start, never from 3000 days back;
    # it had ended (by the definition) before the log could see it: not in the survival rows
    t = ties(log.events(), log.contacts(), cutoff=day(500))
    r = one(t, "old")
    assert (r["end_reason"], r["end"]) == ("went_quiet", day(0))
    assert pd.isna(r["duration_days"]) and r["ended"] == 0
    assert "old" not in set(survival_rows(t)["contact"])


def test_a_prevalent_tie_that_interacts_enters_at_its_age() -> None:
    log = Log()
    log.contact("old")
    log.log("request_accepted", -1000, "old", direction="in")
    log.contact("new")
    log.accepted("new", 0)
    log.talk("old", 50)
    log.talk("old", 300)
    log.talk("new", 10)
    t = ties(log.events(), log.contacts(), cutoff=day(600))
    r = one(t, "old")
    assert r["prevalent"] and r["entry_days"] == pytest.approx(1000)
    assert (r["end_reason"], r["end"]) == ("censored", day(300))
    assert r["duration_days"] == pytest.approx(1235)  # to the horizon, day 235, on its age
    n = one(t, "new")
    assert not n["prevalent"] and n["entry_days"] == 0
    rows = survival_rows(t)
    assert set(rows["contact"]) == {"old", "new"}
    assert rows.set_index("contact").loc["old", "_entry"] == pytest.approx(1000)


def test_a_vcard_without_a_date_has_no_age_and_no_survival() -> None:
    log = Log()
    log.contact("vcard", first_seen=0)
    log.people[-1]["first_seen_estimated"] = True
    log.contact("new")
    log.accepted("new", 1)
    log.talk("vcard", 30)
    t = ties(log.events(), log.contacts(), cutoff=day(600))
    r = one(t, "vcard")
    assert r["prevalent"] and not r["age_known"]
    assert pd.isna(r["duration_days"]) and pd.isna(r["entry_days"])


def test_an_archives_old_messages_do_not_start_the_observation() -> None:
    """A LinkedIn archive holds messages from years back: the log saw them only when it was
    imported (recorded_at); a message logged by hand counts when it happened."""
    log = Log()
    log.contact("a", platform="linkedin")
    log.log("request_accepted", -2000, "a", direction="in", platform="linkedin")
    log.log("interaction", -1500, "a", channel="message", direction="in", platform="linkedin")
    log.rows[-1].update(source="linkedin:messages", recorded_at=day(100))
    log.contact("b", platform="linkedin")
    log.log("interaction", 40, "b", channel="call", direction="out", platform="linkedin")
    log.contact("x")
    log.log("request_sent", 10, "x")
    obs = observation_starts(log.events(), log.contacts(), day(400))
    got = obs.set_index("platform")["observed_from"]
    assert got["linkedin"] == day(40) and got["xing"] == day(10)  # each platform its own
    t = ties(log.events(), log.contacts(), cutoff=day(400))
    assert one(t, "a")["observed_from"] == day(40)
    # the researcher can say when the log began
    t = ties(log.events(), log.contacts(), cutoff=day(400), observed_from={"me": day(5)})
    assert (t["observed_from"] == day(5)).all()


def test_a_missing_message_is_its_own_level_in_the_model() -> None:
    from study.analysis.sustainability import _design

    frame = pd.DataFrame(
        {"with_message": pd.array([True, False, None, True], dtype="boolean"), "basis": "none"}
    )
    X, enc = _design(frame, ["with_message"])
    assert enc["with_message"] == ["no", "yes", "unknown"]
    assert list(X.columns) == ["with_message[yes]", "with_message[unknown]"]
    assert X.to_numpy().tolist() == [[1, 0], [0, 0], [0, 1], [1, 0]]


# the acceptance test: an archive of 300 connections, then 12 months of logging -------------
START, END = dt.date(2025, 11, 1), dt.date(2026, 10, 31)


def archive_csv(n: int, rng: np.random.Generator) -> str:
    first = dt.date(2012, 1, 1).toordinal()
    days = rng.integers(first, END.toordinal(), n)
    lines = [PREAMBLE + "First Name,Last Name,URL,Email Address,Company,Position,Connected On"]
    for i, d in enumerate(days):
        on = dt.date.fromordinal(int(d)).strftime("%d %b %Y")
        lines.append(f"Person{i},Archiv{i},https://www.linkedin.com/in/p{i},,Firma {i},Rolle,{on}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def archive_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from study.importers import import_path

    rng = np.random.default_rng(15)
    path = Path(tmp_path_factory.mktemp("archive")) / "study.db"
    s = study.init(path)
    zipped = write_zip(
        path.parent / "Complete_LinkedInDataExport_10-31-2026.zip",
        linkedin_files(archive_csv(300, rng), extra=False),
    )
    import_path(s, "linkedin", str(zipped))
    keys = s.contacts()["key"].tolist()
    assert len(keys) == 300
    span = (END - START).days
    with s.batch() as b:
        # 12 months of logging: interactions with a third of the archive, a few removals,
        # and new contacts made through requests
        for k in rng.choice(keys, 100, replace=False):
            for d in np.sort(rng.uniform(0, span, rng.integers(1, 4))):
                at = dt.datetime.combine(START, dt.time(12)) + dt.timedelta(days=float(d))
                direction = "in" if rng.random() < 0.5 else "out"
                b.log("interaction", contact=k, channel="message", direction=direction, at=at)
        for i in range(40):
            k = b.add_contact(f"Neu {i}", platform="linkedin", basis="met_in_person")
            at = dt.datetime.combine(START, dt.time(9)) + dt.timedelta(days=float(i * 7))
            b.log("request_sent", contact=k, with_message=True, at=at)
            b.log("request_accepted", contact=k, direction="out", at=at + dt.timedelta(days=1))
            b.log(
                "interaction",
                contact=k,
                channel="call",
                direction="in",
                at=at + dt.timedelta(days=20),
            )
    s.close()
    return path


def test_an_archive_plus_a_year_of_logging_has_no_tie_ending_at_its_import(
    archive_study: Path,
) -> None:
    s = study.open(archive_study)
    ev, con = s.events(), s.contacts()
    s.close()
    cutoff = pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1)
    t = ties(ev, con, cutoff=cutoff, window_days=180)
    begun = t["start"] < pd.Timestamp(START, tz="UTC")
    assert (t.loc[begun, "prevalent"]).all() and begun.sum() > 200
    rows = survival_rows(t)
    prevalent = rows[rows["prevalent"]]
    assert len(prevalent) > 50 and (prevalent["_entry"] > 0).all()
    # no prevalent tie ends at the moment the log began to see it (its import)
    at_entry = (rows["ended"] == 1) & (rows["duration_days"] <= rows["_entry"])
    assert not (at_entry & (rows["_entry"] > 0)).any()
    km = kaplan_meier(t)
    assert km.curves["all"].events == int(rows["ended"].sum())
    # the ties that never interacted since the log began are counted, not ended at import
    silent = t[t["prevalent"] & (t["end_reason"] == "went_quiet") & t["duration_days"].isna()]
    assert len(silent) > 100


@pytest.mark.parametrize("lang", ["en", "de"])
def test_its_report_names_the_prevalent_ties_and_their_treatment(
    archive_study: Path, lang: str
) -> None:
    from study.report import notebook as nb
    from study.report.sections import Text, section_items

    ctx = nb.setup(archive_study, "me", "2026-10", lang, 180, False)
    cov = ctx.results["sustainability.survival"].coverage
    text = " ".join(
        i.markdown for i in section_items(ctx, "sustainability.survival") if isinstance(i, Text)
    )
    assert cov.prevalent > 50 and cov.prevalent_gone > 100
    assert str(cov.prevalent) in text and str(cov.prevalent_gone) in text
    assert ctx.day(cov.observed_from) in text
    if lang == "en":
        assert "begun before" in text and "enter at their age then" in text
    # with W = 365 days a year of logging gives no follow-up yet, and says from when
    ctx = nb.setup(archive_study, "me", "2026-10", lang, 365, False)
    text = " ".join(
        i.markdown for i in section_items(ctx, "sustainability.survival") if isinstance(i, Text)
    )
    ready = cov.observed_from + pd.Timedelta(days=365)
    assert ctx.day(ready) in text


def test_imported_vcards_are_never_new_ties_of_a_period() -> None:
    """A vCard has no connection date: its first_seen is the export date, so it would count as
    a tie begun in the month of the import."""
    from study.analysis.overview import indicators

    log = Log()
    for i in range(5):
        log.contact(f"v{i}", first_seen=40)
        log.people[-1]["first_seen_estimated"] = True
    log.contact("new")
    log.accepted("new", 45)
    t = ties(log.events(), log.contacts(), cutoff=day(80))
    table = indicators(day(30), day(70), ties=t).summary
    assert int(table["new_ties"].sum()) == 1
