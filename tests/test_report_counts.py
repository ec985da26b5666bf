"""The simple counts behind the report's sections, on the small study with known answers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from report_study import make_small_study

from study.report import counts


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    s = make_small_study(Path(tmp_path_factory.mktemp("counts")) / "study.db")
    yield s
    s.close()


def keys_by_name(s) -> dict[str, str]:
    c = s.contacts(names=True)
    return {str(n).split()[0].lower(): str(k) for k, n in zip(c["key"], c["name"], strict=True)}


def test_events_by_kind(small) -> None:
    ev = small.events(since="2026-10-01", until="2026-10-31T23:59")
    got = counts.events_by_kind(ev)
    # October: 3 interactions, 1 removal, 2 metrics, 2 activities, 2 job lead events
    assert got.iloc[0].tolist() == ["interaction", 3]
    assert dict(zip(got["kind"], got["count"], strict=True)) == {
        "interaction": 3,
        "activity": 2,
        "job_lead": 2,
        "metric": 2,
        "contact_removed": 1,
    }


def test_contacts_by_basis(small) -> None:
    got = counts.contacts_by_basis(small.contacts()).set_index("basis")
    assert got.loc["introduced", "xing"] == 2
    assert got.loc["knows_personally", "linkedin"] == 1
    assert got["total"].sum() == 6
    assert list(got.index) == ["knows_personally", "met_in_person", "introduced", "none", "unknown"]


def test_ended_and_quiet_ties(small) -> None:
    k = keys_by_name(small)
    hist = small.events()
    assert counts.ended_contacts(hist) == {k["carla"]}
    as_of = pd.Timestamp("2026-10-31 23:00", tz="UTC")
    quiet = counts.quiet_ties(hist, small.contacts(), as_of)
    assert k["carla"] not in set(quiet["contact"])
    # franz: accepted 2026-08-04 and never spoken to since -> the longest silence
    assert quiet.iloc[0]["contact"] == k["franz"]
    assert quiet.iloc[0]["days"] == (as_of - pd.Timestamp("2026-08-04 08:00", tz="UTC")).days
    assert quiet.iloc[-1]["contact"] == k["anna"]  # spoke on 2026-10-21
    assert list(quiet["days"]) == sorted(quiet["days"], reverse=True)
    assert len(counts.quiet_ties(hist, small.contacts(), as_of, top=2)) == 2


def test_live_ties(small) -> None:
    k = keys_by_name(small)
    live = counts.live_ties(
        small.events(),
        small.contacts(),
        pd.Timestamp("2026-10-01", tz="UTC"),
        pd.Timestamp("2026-10-31 23:59", tz="UTC"),
    ).set_index("contact")
    assert len(live) == 5  # carla was removed
    assert set(live.index[live["active"]]) == {k["anna"], k["bernd"]}


def test_leads(small) -> None:
    stages = counts.lead_stages(small.events()).set_index("lead")
    assert stages.loc["L1", "furthest"] == "interview"
    assert stages.loc["L1", "channel"] == "recruiter"
    assert stages.loc["L2", "furthest"] == "lead"
    assert counts.stage_reached(stages.reset_index(), "interview") == 1
    assert counts.stage_reached(stages.reset_index(), "lead") == 2
    table = counts.leads_by_channel(stages.reset_index()).set_index("channel")
    assert table.loc["recruiter", "interview"] == 1 and table.loc["referral", "lead"] == 1
    assert table["total"].sum() == 2


def test_metrics_activities_vouch(small) -> None:
    oct_ = small.events(since="2026-10-01", until="2026-10-31T23:59")
    m = counts.metric_summary(oct_).set_index("name")
    assert m.loc["profile_views", "value"] == 130
    assert m.loc["followers", "value"] == 110
    both = counts.metric_summary(small.events(since="2026-09-01")).set_index("name")
    assert both.loc["profile_views", "value"] == 120 + 130  # a count: summed
    assert both.loc["followers", "value"] == 110  # a level: the last reading
    acts = counts.activities_by_type(small.events())
    assert dict(zip(acts["type"], acts["count"], strict=True)) == {
        "group_post": 1,
        "talk": 1,
        "profile_updated": 1,
    }
    assert counts.vouch_outcomes(small.events()) == (4, 6)
