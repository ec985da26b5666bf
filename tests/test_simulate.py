"""The simulator: reproducible logs, validated settings, and data with the set properties."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import replace as dc_replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

import study
from study.errors import StudyError, ValidationError
from study.simulate import Params, frames, run, truth
from study.simulate.generator import make_window
from study.simulate.params import Acceptance, Leads, Ties
from study.simulate.power import power, ties_table
from study.vocabulary import COLLECTOR_CONNECTIONS, FIRST_HAND_BASES, KINDS, METRICS

END = dt.date(2026, 10, 31)


def covers(successes: int, n: int, p: float, alpha: float = 0.001) -> bool:
    lo, hi = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return lo <= p <= hi


# reproducibility -----------------------------------------------------------------------------
def _log(db: Path) -> pd.DataFrame:
    with study.open(db) as s:
        ev = s.events().drop(columns=["id", "recorded_at"])
    return ev.sort_values("source_key").reset_index(drop=True)


def test_same_seed_gives_an_identical_log_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    r1 = run(Params(), 11, a, participants=2, months=6, end=END)
    run(Params(), 11, b, participants=2, months=6, end=END)
    assert r1.events_added > 500
    pd.testing.assert_frame_equal(_log(a), _log(b))
    with study.open(a) as sa, study.open(b) as sb:
        ca, cb = sa.contacts(names=True), sb.contacts(names=True)
    pd.testing.assert_frame_equal(ca, cb)
    again = run(Params(), 11, a, participants=2, months=6, end=END)
    assert again.events_added == 0 and again.events_present == r1.events_added
    other = run(Params(), 12, tmp_path / "c.db", participants=2, months=6, end=END)
    assert other.events_added != r1.events_added or not _log(tmp_path / "c.db").equals(_log(a))


def test_a_panel_drawn_in_worker_processes_is_the_same_log(tmp_path: Path, monkeypatch) -> None:
    """Panels are drawn in worker processes beside the writing; the log does not change."""
    import study.simulate as sim

    monkeypatch.setattr(sim, "PARALLEL_FROM", 2)
    monkeypatch.setattr(sim, "AHEAD", 2)  # the window of draws moves while writing
    monkeypatch.setattr(sim, "BATCH_EVENTS", 300)  # several write batches
    parallel = run(Params(), 11, tmp_path / "a.db", participants=5, months=4, end=END)
    monkeypatch.setattr(sim, "PARALLEL_FROM", 10**6)
    serial = run(Params(), 11, tmp_path / "b.db", participants=5, months=4, end=END)
    assert parallel.events_added == serial.events_added > 0
    assert parallel.generate_seconds > 0
    pd.testing.assert_frame_equal(_log(tmp_path / "a.db"), _log(tmp_path / "b.db"))
    assert parallel.truth == serial.truth


def test_other_settings_into_the_same_database_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    run(Params(), 1, db, months=3, end=END)
    with pytest.raises(StudyError, match="other settings"):
        run(Params(), 2, db, months=3, end=END)


def test_no_event_after_the_end_and_truth_beside_the_file(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    r = run(Params(), 3, db, months=4, end=END)
    with study.open(db) as s:
        ev = s.events()
        doc = truth(s)
    assert ev["occurred_at"].max() < pd.Timestamp("2026-11-01", tz="UTC")
    assert ev["occurred_at"].min() >= pd.Timestamp("2026-07-01", tz="UTC")
    assert set(ev["source"]) == {"simulate"}
    assert r.truth_path == Path(str(db) + ".truth.json")
    assert json.loads(r.truth_path.read_text()) == doc
    assert doc["ties"]["log_hr"]["basis"]["none"] == pytest.approx(math.log(3.0))
    assert doc["participant_effects"]["me"]["intervention_date"].startswith("2026-09")
    for section in ("ties", "acceptance", "views", "vouch", "leads", "interactions"):
        assert section in doc


# settings ---------------------------------------------------------------------------------------
def test_a_probability_above_one_names_its_field() -> None:
    with pytest.raises(ValidationError) as err:
        Acceptance(known_with_message=1.3)
    assert err.value.field == "acceptance.known_with_message"
    with pytest.raises(ValidationError, match="ties.hr_basis.none"):
        Ties(hr_basis={"met_in_person": 1.0, "introduced": 1.0, "none": -2})
    with pytest.raises(ValidationError, match="leads.rate_other"):
        Leads(rate_other=-1)
    with pytest.raises(ValidationError, match="'friend' is not allowed"):
        Ties(hr_basis={"met_in_person": 1.0, "introduced": 1.0, "none": 2, "friend": 1})


def test_params_from_toml_overrides_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "p.toml"
    good.write_text("[ties]\nweibull_shape = 0.9\nhr_basis = { none = 2.0 }\n")
    p = Params.from_toml(good)
    assert p.ties.weibull_shape == 0.9 and p.ties.hr_basis["none"] == 2.0
    assert p.ties.hr_basis["met_in_person"] == Ties().hr_basis["met_in_person"]
    assert p.acceptance == Acceptance()
    assert Params.from_dict(p.to_dict()) == p
    bad = tmp_path / "bad.toml"
    bad.write_text("[acceptance]\nknown_with_message = 1.3\n")
    with pytest.raises(ValidationError, match=r"bad.toml: .*not a probability") as err:
        Params.from_toml(bad)
    assert err.value.field == "acceptance.known_with_message"
    bad.write_text("[ties]\nshape = 1\n")
    with pytest.raises(ValidationError, match="ties.shape"):
        Params.from_toml(bad)
    bad.write_text("[ties\n")
    with pytest.raises(ValidationError, match="not valid TOML"):
        Params.from_toml(bad)


# the generated data has the set properties --------------------------------------------------
@pytest.fixture(scope="module")
def panel():
    """60 participants over 24 months, as frames (the same generator as the database path)."""
    return frames(Params(), 5, participants=60, months=24, end=END)


def test_acceptance_rates_by_message_and_stranger(panel) -> None:
    ev, c = panel.events, panel.contacts.set_index("key")
    req = ev[ev["kind"].isin(["request_sent", "request_received"])].set_index("contact")
    answers = ev[ev["kind"].isin(["request_accepted", "request_declined", "request_withdrawn"])]
    answered = answers.set_index("contact")["kind"]
    req = req[req.index.isin(answered.index)]
    req = req.assign(
        accepted=answered.reindex(req.index) == "request_accepted",
        stranger=c["basis"].reindex(req.index) == "none",
    )
    a = panel.truth["acceptance"]
    for stranger, key in ((False, "known"), (True, "stranger")):
        for msg in (True, False):
            g = req[(req["stranger"] == stranger) & (req["with_message"] == msg)]
            want = a[key]["with_message" if msg else "without_message"]
            assert len(g) > 100
            # withdrawn answers come later than the others: requests near the end are
            # slightly more often accepted among the answered, so test a central window
            assert covers(int(g["accepted"].sum()), len(g), want, alpha=0.0005), (key, msg)


def test_vouch_probabilities_by_introducer_type(panel) -> None:
    ev, c = panel.events, panel.contacts.set_index("key")
    intro = ev[ev["kind"] == "introduction"].set_index("contact")
    vouch = ev[ev["kind"] == "vouch_check"].set_index("contact")
    conn = intro["introducer_connections"].astype(float).reindex(vouch.index)
    basis = c["basis"].reindex(vouch["introducer"]).to_numpy()
    kind = np.where(
        conn >= COLLECTOR_CONNECTIONS,
        "collector",
        np.where(np.isin(basis, FIRST_HAND_BASES), "first_hand", "none"),
    )
    p_known = panel.truth["vouch"]["p_known"]
    for k in ("first_hand", "none", "collector"):
        g = vouch[kind == k]
        assert len(g) > 30, k
        assert covers(int((g["outcome"] == "known").sum()), len(g), p_known[k]), k
    # introducers are live first-degree contacts at the introduction
    first = ev[ev["kind"] == "request_accepted"].groupby("contact")["occurred_at"].min()
    assert (first.reindex(intro["introducer"]).to_numpy() <= intro["occurred_at"].to_numpy()).all()


def test_view_step_is_recovered(panel) -> None:
    from study.simulate.power import SimFrames, its_view_step

    few = panel.truth["participants"][:15]
    sub = SimFrames(
        panel.events[panel.events["participant"].isin(few)], panel.contacts, panel.truth, panel.end
    )
    est, low, high = its_view_step(sub)
    assert low < panel.truth["views"]["level_change_rr"] < high
    assert high / low < 1.3  # precise enough to mean something


def _reliable_counts(ev: pd.DataFrame, pid: str, month_ends: list[pd.Timestamp]) -> list[int]:
    """Live reliable ties at each month end, straight from docs/definitions.md."""
    e = ev[ev["participant"] == pid]
    start = e[e["kind"] == "request_accepted"].groupby("contact")["occurred_at"].min()
    stop = (
        e[e["kind"].isin(["contact_removed", "contact_hidden"])]
        .groupby("contact")["occurred_at"]
        .min()
    )
    inter = e[e["kind"] == "interaction"]
    last = inter.groupby("contact")["occurred_at"].max()
    known = e[(e["kind"] == "vouch_check") & (e["outcome"] == "known")]
    out = []
    W = pd.Timedelta(days=365)
    for te in month_ends:
        alive = start[start <= te].index
        alive = [k for k in alive if not (k in stop and stop[k] <= te)]
        # a tie that went quiet (no removal, and its last interaction W or more before the
        # study's end) ended at that last interaction
        alive = [
            k
            for k in alive
            if not (k not in stop and k in last and last[k] < te and last[k] + W < ev_end)
        ]
        recent = inter[(inter["occurred_at"] <= te) & (inter["occurred_at"] > te - W)]
        dirs = recent.groupby("contact")["direction"].nunique()
        vouched = known[(known["occurred_at"] <= te) & (known["occurred_at"] > te - W)]["contact"]
        out.append(sum(1 for k in alive if dirs.get(k, 0) == 2 or k in set(vouched)))
    return out


ev_end = pd.Timestamp("2026-11-01", tz="UTC")


def test_lead_rates_follow_live_reliable_ties() -> None:
    p = Params(leads=Leads(participant_sd=0.0, rate_per_reliable_tie=0.02, rate_other=0.3))
    f = frames(p, 9, participants=12, months=24, end=END)
    ev = f.events
    win = make_window(24, END)
    starts = [
        pd.Timestamp(win.start, tz="UTC") + pd.Timedelta(days=float(d)) for d in win.month_starts()
    ]
    exposure = 0
    knowable = [te for te in starts[1:-1] if te + pd.Timedelta(days=365) <= ev_end]
    assert len(knowable) >= 11
    lengths = np.diff([s.value for s in starts]) / 86400e9 / (365.25 / 12)
    for pid in f.truth["participants"]:
        counts = f.truth["participant_effects"][pid]["live_reliable_ties"][:-1]
        # the generator's exposure agrees with the definitions applied to the log, wherever
        # the log can tell (a tie that fell silent in the last W days may still be alive)
        assert _reliable_counts(ev, pid, knowable) == counts[: len(knowable)]
        exposure += float(np.dot(counts, lengths[1:]))
    first = ev[(ev["kind"] == "job_lead") & (ev["stage"] == "lead")]
    through_tie = int(first["contact"].notna().sum())
    other = int(first["contact"].isna().sum())
    expected_tie = 0.02 * exposure
    expected_other = 0.3 * 12 * 24
    # Poisson counts: within 4 standard deviations
    assert abs(through_tie - expected_tie) < 4 * math.sqrt(expected_tie)
    assert abs(other - expected_other) < 4 * math.sqrt(expected_other)
    # stages are dated increasing and follow the order
    order = {s: i for i, s in enumerate(("lead", "applied", "interview", "offer", "accepted"))}
    for _, g in ev[ev["kind"] == "job_lead"].groupby("lead"):
        g = g.sort_values("occurred_at")
        ranks = [order.get(s, 9) for s in g["stage"]]
        assert ranks == sorted(ranks) and g["occurred_at"].is_monotonic_increasing


@pytest.mark.slow
def test_tie_survival_matches_the_set_weibull_and_hazard_ratios() -> None:
    import statsmodels.api as sm
    from statsmodels.duration.survfunc import SurvfuncRight

    p = Params(ties=dc_replace(Ties(), frailty_sd=0.0))
    f = frames(p, 21, participants=150, months=48, end=END)
    ties = ties_table(f.events, f.end).join(f.contacts.set_index("key")[["basis", "participant"]])
    t = f.truth["ties"]
    ref = ties[
        (ties["basis"] == "knows_personally")
        & (ties["platform"] == "xing")
        & (ties["with_message"] == 0)
    ]
    km = SurvfuncRight(ref["days"].to_numpy(), ref["event"].to_numpy())
    k, lam = t["baseline"]["shape"], t["baseline"]["scale_days"]
    for day in (90, 365, 730):
        i = np.searchsorted(km.surv_times, day, side="right") - 1
        s_hat, se = km.surv_prob[i], km.surv_prob_se[i]
        assert abs(s_hat - math.exp(-((day / lam) ** k))) < 4 * se + 0.01, day
    X = pd.DataFrame(
        {
            **{
                b: (ties["basis"] == b).astype(float)
                for b in ("met_in_person", "introduced", "none")
            },
            "linkedin": (ties["platform"] == "linkedin").astype(float),
            "with_message": ties["with_message"].astype(float),
        }
    )
    fit = sm.PHReg(ties["days"], X, status=ties["event"], ties="efron").fit()
    want = [t["log_hr"]["basis"][b] for b in ("met_in_person", "introduced", "none")]
    want += [t["log_hr"]["platform"]["linkedin"], t["log_hr"]["with_message"]]
    ci = fit.conf_int(alpha=0.001)
    for j, w in enumerate(want):
        assert ci[j, 0] < w < ci[j, 1], X.columns[j]


# the demo -----------------------------------------------------------------------------------------
def test_demo_has_every_kind_on_both_platforms(sqlite_cli, db_path: Path) -> None:
    cli = sqlite_cli  # the demo's --force keeps the old SQLite file aside
    code, out, err = cli("demo")
    assert code == 0, err
    assert "truth:" in out
    with study.open(db_path) as s:
        ev = s.events()
        contacts = s.contacts(names=True)
    assert set(ev["kind"]) == set(KINDS)
    assert set(ev.loc[ev["kind"] == "metric", "name"]) == set(METRICS)
    for platform in ("xing", "linkedin"):
        assert set(ev.loc[ev["platform"] == platform, "kind"]) == set(KINDS), platform
        names = set(ev.loc[(ev["kind"] == "metric") & (ev["platform"] == platform), "name"])
        assert names == set(METRICS) - {"googlability_rank"}, platform
    assert ev["occurred_at"].max() - ev["occurred_at"].min() > pd.Timedelta(days=700)
    # invented names live only in contact_details, never in the events
    names = set(contacts["name"].dropna())
    assert len(names) > 20
    text = " ".join(ev["text"].dropna()) + " ".join(ev["topic"].dropna())
    assert not any(n in text for n in names)
    # a second demo finds the study already there and leaves it alone
    n = len(ev)
    code, out, _ = cli("demo")
    assert code == 0 and "already holds a simulated study" in out
    with study.open(db_path) as s:
        assert s.count() == n
    # --force rebuilds into a fresh file and keeps the old one aside
    code, out, _ = cli("demo", "--force")
    assert code == 0 and f"{n} added" in out
    assert Path(str(db_path) + ".bak").exists()


def test_demo_refuses_a_real_study(cli, s) -> None:
    k = s.add_contact("Anna Beispiel", platform="xing", basis="met_in_person")
    s.log("interaction", contact=k, channel="call", direction="out", at="2026-01-05")
    code, out, err = cli("demo")
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "real study" in err
    assert s.count() == 1


# the command line ---------------------------------------------------------------------------------
def test_simulate_command_prints_a_summary(cli) -> None:
    code, out, err = cli("simulate", "--participants", "2", "--months", "3", "--seed", "7")
    assert code == 0, err
    assert "participants: 2" in out and "interaction" in out and "seconds:" in out


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", "--months", "0"),
        ("simulate", "--params", "does-not-exist.toml"),
        ("power", "--effect", "nothing", "--values", "1"),
        ("power", "--effect", "basis_hr", "--values", "x"),
    ],
)
def test_command_mistakes_are_one_line_and_exit_2(cli, args) -> None:
    code, out, err = cli(*args)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1


def test_bad_params_file_names_file_and_field(cli, tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[views]\nlevel_rr = -1\n")
    code, _, err = cli("simulate", "--params", str(bad))
    assert code == 2 and "p.toml" in err and "views.level_rr" in err


# power --------------------------------------------------------------------------------------------
def test_power_loop_takes_an_estimator_and_gives_wilson_intervals() -> None:
    calls = []

    def always(frames_):
        calls.append(frames_.truth["views"]["level_change_rr"])
        return (2.0, 1.5, 2.5)

    table = power("view_step", [1.3, 2.0], [3], participants=1, reps=4, estimator=always)
    assert calls == [1.3] * 4 + [2.0] * 4
    assert list(table["power"]) == [1.0, 1.0]
    assert (table["low"] < 1).all() and (table["high"] == 1).all()


def test_power_of_a_large_view_step_is_high_and_of_none_is_low() -> None:
    table = power("view_step", [1.0, 2.5], [12], participants=1, reps=6, seed=3)
    null, big = table.iloc[0], table.iloc[1]
    assert null["power"] <= 0.5
    assert big["power"] >= 0.8
    assert big["low"] <= big["power"] <= big["high"]
