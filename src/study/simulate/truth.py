"""The ground truth of a simulated study: every effect the generator set, as one JSON document.

It is stored twice: in the database's ``study_meta`` table under the key ``simulation_truth``
(so it travels with the study, on SQLite and PostgreSQL alike), and beside a SQLite file as
``<db>.truth.json`` (so notebooks and people can read it without the toolkit).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from study import store
from study.errors import StudyError
from study.simulate.generator import Window
from study.simulate.params import REFERENCE, Params

META_KEY = "simulation_truth"
TRUTH_VERSION = 1


def build_truth(
    params: Params, seed: int, pids: list[str], win: Window, effects: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The truth document for a run (``effects``: the participant-level draws by participant)."""
    p = params
    t = p.ties
    return {
        "generator": "study.simulate",
        "truth_version": TRUTH_VERSION,
        "seed": seed,
        "participants": pids,
        "months": win.months,
        "start": win.start.isoformat(),
        "end": win.end.isoformat(),
        "reference": REFERENCE,
        "ties": {
            "lifetime": "days from request_accepted to the end of the tie, any reason",
            "baseline": {
                "distribution": "weibull",
                "shape": t.weibull_shape,
                "scale_days": t.weibull_scale_days,
                "survival": "S(t) = exp(-(t/scale)^shape * exp(linear predictor))",
            },
            "log_hr": {
                "basis": {
                    "knows_personally": 0.0,
                    **{b: math.log(v) for b, v in t.hr_basis.items()},
                },
                "platform": {"xing": 0.0, "linkedin": math.log(t.hr_linkedin)},
                "with_message": math.log(t.hr_with_message),
            },
            "hr": {
                "basis": {"knows_personally": 1.0, **t.hr_basis},
                "platform": {"xing": 1.0, "linkedin": t.hr_linkedin},
                "with_message": t.hr_with_message,
            },
            "frailty": "log-normal, sd of the log = frailty_sd, one draw per participant",
            "frailty_sd": t.frailty_sd,
            "end_reason": {
                "p_removed_by_basis": t.p_removed,
                "p_hidden_if_not_removed": t.p_hidden,
                "otherwise": "went_quiet: final interaction exactly at T",
            },
            "quiet_window_days": 365,
            "keepalive_days": p.interactions.keepalive_days,
            "quiet_lag_days": t.quiet_lag_days,
            "removal_seen_every_days": t.removal_seen_every_days,
            "archive": {
                "connections": p.archive.connections,
                "years": p.archive.years,
                "share_undated": p.archive.share_undated,
                "time_scale": "a tie's lifetime counts from its connection date, before the "
                "study for an archived tie; the hazard ratios are the same",
            },
            "estimand": "the hazard ratios of the end of a tie (any reason) on the tie's age; "
            "a cause-specific hazard ratio of one ending is HR x p(ending | basis) / "
            "p(ending | reference basis). They equal what docs/definitions.md measures when a "
            "living tie interacts at least every keepalive_days < W and a quiet tie's last "
            "interaction is at its end (quiet_lag_days = 0); otherwise the definition dates "
            "quiet ends differently and the harness shows the bias (docs/validation.md)",
        },
        "interactions": {
            "rate_per_year_by_basis": p.interactions.rate_per_year,
            "p_out": p.interactions.p_out,
            "channel_weights": p.interactions.channel_weights,
        },
        "acceptance": {
            "known": {
                "with_message": p.acceptance.known_with_message,
                "without_message": p.acceptance.known_without_message,
            },
            "stranger": {
                "with_message": p.acceptance.stranger_with_message,
                "without_message": p.acceptance.stranger_without_message,
            },
            "stranger_means": "basis none",
            "p_declined_if_not_accepted": p.acceptance.p_declined,
            "direction": "request_accepted/declined/withdrawn carry the request's direction",
        },
        "views": {
            "model": "weekly count = sum of 7 daily rates, negative binomial",
            "baseline_per_week": {
                "xing": p.views.base_per_week_xing,
                "linkedin": p.views.base_per_week_linkedin,
            },
            "trend_per_year": p.views.trend_per_year,
            "season_amplitude": p.views.season_amplitude,
            "season_peak_day": p.views.season_peak_day,
            "level_change_rr": p.views.level_rr,
            "log_level_change": math.log(p.views.level_rr),
            "slope_change_per_year": p.views.slope_change_per_year,
            "dispersion": p.views.dispersion,
            "intervention": "profile completed (profile_updated photo, about, skills, other); "
            "the change applies from the intervention date on",
            "intervention_dates": {pid: e["intervention_date"] for pid, e in effects.items()},
            "search_per_view": p.views.search_per_view,
        },
        "vouch": {
            "p_known": p.introductions.p_known,
            "introducer_types": "collector: 500+ connections (whatever the basis); "
            "first_hand: basis knows_personally or met_in_person; none: basis none",
            "p_collector": {
                "first_hand": p.introductions.p_collector_first_hand,
                "none": p.introductions.p_collector_none,
            },
            "p_vouch_check": p.introductions.p_vouch_check,
            "model": "a table of probabilities (no logistic model)",
        },
        "leads": {
            "rate_per_live_reliable_tie_per_month": p.leads.rate_per_reliable_tie,
            "rate_other_per_month": p.leads.rate_other,
            "exposure": "live reliable ties at the end of the previous month (the month's "
            "start; study.analysis.jobs exposure_at='start')",
            "rate_is_for": "a participant whose lead multiplier is 1 (the median participant); "
            "multipliers are log-normal with sd participant_sd, so the mean over participants "
            "is the rate times exp(participant_sd^2 / 2)",
            "participant_sd": p.leads.participant_sd,
            "p_advance": p.leads.p_advance,
            "p_withdrawn_if_stopped": p.leads.p_withdrawn,
            "stage_days_mean": p.leads.stage_days,
            "channels_through_contact": p.leads.channels_contact,
            "channels_other": p.leads.channels_other,
        },
        "participant_effects": effects,
        "params": p.to_dict(),
    }


def store_truth(conn: Any, doc: dict[str, Any]) -> None:
    """Write the truth into ``study_meta``, inside the caller's transaction."""
    text = json.dumps(doc, sort_keys=True)
    m = store.study_meta
    conn.execute(delete(m).where(m.c.key == META_KEY))
    conn.execute(insert(m).values(key=META_KEY, value=text))


def write_truth_file(doc: dict[str, Any], url: str) -> Path | None:
    """Write the truth beside a SQLite file as ``<db>.truth.json`` (after the commit)."""
    path = store.sqlite_path(url)
    if path is None:
        return None
    out = Path(str(path) + ".truth.json")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tmp.replace(out)
    return out


def read_truth(conn: Any) -> dict[str, Any] | None:
    m = store.study_meta
    text = conn.execute(select(m.c.value).where(m.c.key == META_KEY)).scalar()
    return json.loads(text) if text else None


def truth(study_or_db: Any = None) -> dict[str, Any]:
    """The ground truth of a simulated study (a Study, a path or a URL)."""
    from study.api import Study

    s = study_or_db if isinstance(study_or_db, Study) else Study(study_or_db)
    try:
        with s._read() as conn:
            doc = read_truth(conn)
    finally:
        if s is not study_or_db:
            s.close()
    if doc is None:
        raise StudyError(f"{s.name} is not a simulated study (it holds no simulation truth)")
    return doc
