"""From a real study log to the RQ1/RQ3 tables and analyses (the frames the API returns)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import study
from study.analysis import jobs, overview, reputation
from study.tables.leads import leads
from study.tables.metrics import weekly_metrics


def test_log_to_panel_leads_and_its(s: study.Study) -> None:
    rng = np.random.default_rng(11)
    first = dt.date(2025, 1, 6)  # a Monday
    update = first + dt.timedelta(weeks=20, days=2)
    k1 = s.add_contact("Anna Beispiel", platform="xing", basis="met_in_person")
    k2 = s.add_contact(platform="linkedin", basis="none")
    with s.batch() as b:
        for w in range(40):
            monday = first + dt.timedelta(weeks=w)
            mu = 25 * (2.0 if monday + dt.timedelta(days=6) >= update else 1.0)
            b.log(
                "metric",
                name="profile_views",
                value=int(rng.poisson(mu)),
                period=f"{monday}..{monday + dt.timedelta(days=6)}",
                platform="xing",
                at=(monday + dt.timedelta(days=6)).isoformat(),
            )
            b.log("metric", name="followers", value=50 + w, platform="xing", at=monday.isoformat())
        b.log("profile_updated", section="about", platform="xing", at=update.isoformat())
        b.log(
            "activity", type="talk", platform="xing", at=(first + dt.timedelta(weeks=5)).isoformat()
        )
        for i in range(3):
            b.log(
                "interaction",
                contact=k1,
                channel="call",
                direction="out",
                at=(first + dt.timedelta(days=10 + i)).isoformat(),
            )
        b.log(
            "job_lead",
            lead="L1",
            contact=k1,
            channel="referral",
            stage="lead",
            platform="xing",
            at=(first + dt.timedelta(weeks=8)).isoformat(),
        )
        b.log(
            "job_lead", lead="L1", stage="applied", at=(first + dt.timedelta(weeks=9)).isoformat()
        )
        b.log(
            "job_lead",
            lead="L2",
            contact=k2,
            channel="recruiter",
            stage="lead",
            at=(first + dt.timedelta(weeks=12)).isoformat(),
        )
    ev = s.events()
    panel = weekly_metrics(ev)
    assert len(panel) == 40
    assert panel["profile_views_days"].eq(7).all()
    assert panel["followers"].tolist() == [50 + w for w in range(40)]
    assert panel["intervention"].notna().sum() == 1 and panel["talk"].sum() == 1

    r = reputation.profile_views_its(panel, family="poisson")
    assert r.effects[0].at == pd.Timestamp(first + dt.timedelta(weeks=20))
    assert r.level.low < 2.0 < r.level.high

    table = leads(ev, s.contacts()).set_index("lead")
    assert table.loc["L1", "basis"] == "met_in_person"
    assert table.loc["L1", "interactions_12m"] == 3
    assert table.loc["L1", "tie_strength"] == "occasionally"
    assert table.loc["L1", "furthest_stage"] == "applied"
    assert table.loc["L2", "basis"] == "none" and table.loc["L2", "tie_strength"] == "rarely"
    assert jobs.funnel(table.reset_index()).reached["applied"] == 1

    o = overview.indicators("2025-01-01", "2025-12-31", freq="quarter", leads=table, panel=panel)
    assert o.summary["leads"].tolist() == [2, 0, 0, 0]  # March 3 and March 31
    assert o.summary["views"].sum() == pytest.approx(panel["profile_views"].sum())
