"""The simulator's scenarios that break the survival analysis' assumptions (issue 15), each a
setting and a `study simulate` option, and a study that ends today holding nothing after it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import study
from study.simulate import Params, frames
from study.simulate.generator import last_complete_month_end
from study.tables.ties import ties

END = dt.date(2026, 10, 31)


def with_(section: str, **changes: object) -> Params:
    p = Params()
    return replace(p, **{section: replace(getattr(p, section), **changes)})


def test_a_study_ending_with_last_month_holds_nothing_after_its_last_day() -> None:
    """Introductions near the end drew their request 1-7 days later: past the end, which for
    a study ending with last month is the future (`study simulate` stopped with "lies in the
    future")."""
    end = last_complete_month_end()
    f = frames(Params(), 1, participants=60, months=3, end=end)
    last = pd.Timestamp(end, tz="UTC") + pd.Timedelta(hours=20)
    assert f.events["occurred_at"].max() <= last
    assert (f.events["kind"] == "introduction").sum() > 50


def test_the_default_study_is_unchanged_by_the_scenarios_code() -> None:
    """Scenario draws use a stream of their own: with every scenario off, the same log."""
    a = frames(Params(), 4, months=6, end=END).events
    b = frames(with_("ties", quiet_lag_days=0.0), 4, months=6, end=END).events
    pd.testing.assert_frame_equal(a, b)


def test_an_archive_gives_prevalent_ties_without_earlier_interactions() -> None:
    f = frames(with_("archive", connections=300), 2, months=24, end=END)
    start = pd.Timestamp(f.truth["start"], tz="UTC")
    con = f.contacts
    arch = f.truth["participant_effects"]["me"]["archive"]
    assert arch["listed"] < 300  # removed before the study: not in the archive
    ev = f.events
    assert not ((ev["kind"] == "interaction") & (ev["occurred_at"] < start)).any()
    dated = ev[(ev["kind"] == "request_accepted") & (ev["occurred_at"] < start)]
    assert len(dated) == arch["listed"] - arch["undated"]
    undated = con[con["first_seen_estimated"]]
    assert len(undated) == arch["undated"] and (undated["first_seen"] == start).all()
    t = ties(ev, con, cutoff=f.end)
    assert t["prevalent"].sum() >= arch["listed"] - 1
    assert (~t.loc[t["contact"].isin(undated["key"]), "age_known"]).all()
    alive = t[t["prevalent"] & t["age_known"] & t["duration_days"].notna()]
    assert len(alive) > 0.5 * arch["alive_at_start"]  # they enter at their age then


def test_no_keepalive_lets_living_ties_go_quiet() -> None:
    def gaps(p: Params) -> float:
        f = frames(p, 3, participants=4, months=24, end=END)
        inter = f.events[f.events["kind"] == "interaction"].sort_values("occurred_at")
        g = inter.groupby("contact")["occurred_at"].diff().dt.days
        return float(g.max())

    assert gaps(Params()) <= 300
    assert gaps(with_("interactions", keepalive_days=0.0)) > 365


def test_a_quiet_lag_moves_the_last_interaction_before_the_end() -> None:
    """With the lag the ties table dates quiet ends earlier than the true ends: the definition
    measures the last interaction (docs/definitions.md, scenario (c))."""

    def quiet_ages(p: Params) -> pd.Series:
        f = frames(p, 5, participants=6, months=24, end=END)
        t = ties(f.events, f.contacts, cutoff=f.end)
        q = t[t["end_reason"] == "went_quiet"]
        return (q["end"] - q["start"]).dt.days

    exact, lagged = quiet_ages(Params()), quiet_ages(with_("ties", quiet_lag_days=90.0))
    assert lagged.mean() < exact.mean()


def test_removals_seen_at_exports_are_dated_at_the_midpoint(tmp_path: Path) -> None:
    p = with_("ties", removal_seen_every_days=90.0)
    f = frames(p, 6, participants=3, months=24, end=END)
    rem = f.events[f.events["kind"] == "contact_removed"]
    start = pd.Timestamp(f.truth["start"], tz="UTC")
    day = (rem["occurred_at"] - start) / pd.Timedelta(days=1)
    assert len(rem) > 5 and np.allclose((day - 45) % 90, 0, atol=1e-3)
    after = pd.to_datetime(rem["removed_after"]).dt.date
    before = pd.to_datetime(rem["removed_before"]).dt.date
    assert ((pd.to_datetime(before) - pd.to_datetime(after)).dt.days == 90).all()
    # the log takes it: nothing about a removed contact after its removal
    db = tmp_path / "snap.db"
    study.simulate.run(p, 6, db, participants=1, months=24, end=END)
    with study.open(db) as s:
        assert (s.events(kind="contact_removed")["removed_before"].notna()).all()


@pytest.mark.parametrize(
    ("args", "setting", "value"),
    [
        (("--archive", "40"), ("archive", "connections"), 40),
        (("--no-keepalive",), ("interactions", "keepalive_days"), 0.0),
        (("--quiet-lag", "60"), ("ties", "quiet_lag_days"), 60.0),
        (("--removal-snapshots", "30"), ("ties", "removal_seen_every_days"), 30.0),
    ],
)
def test_each_scenario_is_an_option_of_study_simulate(
    sqlite_cli, db_path, args, setting, value
) -> None:
    code, out, err = sqlite_cli("simulate", "--months", "3", "--seed", "2", *args)
    assert code == 0, err
    doc = study.simulate.truth(db_path)
    section, name = setting
    assert doc["params"][section][name] == value


@pytest.mark.parametrize(
    "args", [("--archive", "-1"), ("--quiet-lag", "x"), ("--archive", "10**9")]
)
def test_scenario_option_mistakes_are_one_line(sqlite_cli, args) -> None:
    code, _, err = sqlite_cli("simulate", *args)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
