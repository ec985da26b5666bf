"""Build events and contacts DataFrames in the shape ``Study.events()`` / ``Study.contacts()`` give.

A tiny builder for hand-written edge cases, and a numpy generator of tie lifetimes with known
hazard ratios (Weibull, random censoring) for the known-truth checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from study.frames import CONTACT_COLUMNS, tidy_events

T0 = pd.Timestamp("2024-01-01 12:00", tz="UTC")


def day(d: float) -> pd.Timestamp:
    """``T0`` plus ``d`` days."""
    return T0 + pd.Timedelta(days=d)


class Log:
    """Collects events and contacts; ``.events()`` and ``.contacts()`` give the frames."""

    def __init__(self, participant: str = "me"):
        self.participant = participant
        self.rows: list[dict[str, Any]] = []
        self.people: list[dict[str, Any]] = []

    def contact(
        self,
        key: str,
        *,
        basis: str = "knows_personally",
        platform: str = "xing",
        first_seen: float = 0,
        introducer: str | None = None,
        participant: str | None = None,
    ) -> str:
        self.people.append(
            {
                "key": key,
                "participant": participant or self.participant,
                "platform": platform,
                "basis": basis,
                "introducer": introducer,
                "first_seen": day(first_seen),
                "first_seen_estimated": False,
            }
        )
        return key

    def log(self, kind: str, at: float, contact: str | None = None, **attrs: Any) -> None:
        participant = attrs.pop("participant", self.participant)
        platform = attrs.pop("platform", "xing")
        self.rows.append(
            {
                "participant": participant,
                "platform": platform,
                "occurred_at": day(at),
                "recorded_at": day(at),
                "kind": kind,
                "contact": contact,
                "source": "test",
                **attrs,
            }
        )

    def accepted(self, key: str, at: float, *, with_message: bool | None = None) -> None:
        """A request sent the same day and accepted."""
        self.log("request_sent", at, key, with_message=with_message)
        self.log("request_accepted", at, key, direction="in")

    def talk(self, key: str, at: float, direction: str = "both") -> None:
        for d in ("in", "out") if direction == "both" else (direction,):
            self.log("interaction", at, key, channel="message", direction=d)

    def events(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows) if self.rows else pd.DataFrame(columns=["kind"])
        df["id"] = range(1, len(df) + 1)
        return tidy_events(df)

    def contacts(self) -> pd.DataFrame:
        df = pd.DataFrame(self.people, columns=list(CONTACT_COLUMNS))
        df["first_seen"] = pd.to_datetime(df["first_seen"], utc=True)
        df["platform"] = df["platform"].astype("category")
        df["basis"] = df["basis"].astype("category")
        for col in ("key", "participant", "introducer"):
            df[col] = df[col].astype("string")
        return df


def weibull_ties(
    n: int,
    seed: int,
    *,
    hr: float = 0.5,
    shape: float = 1.3,
    scale: float = 400.0,
    censor_scale: float = 600.0,
) -> pd.DataFrame:
    """A ties-like table with known truth: group 1 has hazard ratio ``hr`` against group 0.

    Weibull lifetimes (proportional hazards hold: the scale of group 1 is
    ``scale * hr ** (-1 / shape)``) and independent exponential censoring.
    """
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    lam = scale * np.where(g == 1, hr ** (-1 / shape), 1.0)
    life = lam * rng.weibull(shape, n)
    cens = rng.exponential(censor_scale, n)
    dur = np.minimum(life, cens)
    return pd.DataFrame(
        {
            "participant": "me",
            "contact": [f"c{i}" for i in range(n)],
            "basis": np.where(g == 1, "met_in_person", "none"),
            "platform": "xing",
            "with_message": False,
            "duration_days": dur,
            "ended": (life <= cens).astype(int),
            "group": g,
        }
    )


#: True log-odds of passing the vouch check per introducer type at log1p(connections) = 0, and
#: the slope per unit of log1p(connections), for :func:`introductions_frame`.
VOUCH_INTERCEPT = {"first_hand": 3.0, "none": 2.0, "collector": 1.5}
VOUCH_SLOPE = -0.35


def introductions_frame(n_per_type: int, seed: int, *, participants: int = 1) -> pd.DataFrame:
    """An introductions-like table with known vouch and response probabilities.

    Pass: logit p = ``VOUCH_INTERCEPT[type] + VOUCH_SLOPE * log1p(connections)``; responded with
    probability 0.8 / 0.6 / 0.3 (first_hand / none / collector); tie durations exponential with
    mean 600 / 400 / 200 days, censored at 500 days.
    """
    rng = np.random.default_rng(seed)
    types = np.repeat(list(VOUCH_INTERCEPT), n_per_type)
    n = len(types)
    conn = np.where(
        types == "collector", rng.integers(500, 3000, n), rng.integers(20, 499, n)
    ).astype(float)
    logit = np.array([VOUCH_INTERCEPT[t] for t in types]) + VOUCH_SLOPE * np.log1p(conn)
    passed = rng.random(n) < 1 / (1 + np.exp(-logit))
    respond_p = pd.Series(types).map({"first_hand": 0.8, "none": 0.6, "collector": 0.3})
    mean_life = pd.Series(types).map({"first_hand": 600.0, "none": 400.0, "collector": 200.0})
    life = rng.exponential(mean_life.to_numpy())
    introduced = T0 + pd.to_timedelta(rng.uniform(0, 300, n), unit="D")
    return pd.DataFrame(
        {
            "participant": [f"p{i % participants}" for i in range(n)],
            "contact": [f"s{i}" for i in range(n)],
            "introducer": [f"i{i % 40}" for i in range(n)],
            "introducer_type": pd.Categorical(types, categories=list(VOUCH_INTERCEPT) + ["other"]),
            "introducer_connections": conn,
            "introduced_at": introduced,
            "vouch_outcome": np.where(passed, "known", "unknown"),
            "vouched_at": introduced + pd.to_timedelta(rng.exponential(60, n), unit="D"),
            "responded": rng.random(n) < respond_p.to_numpy(),
            "duration_days": np.minimum(life, 500.0),
            "ended": (life <= 500.0).astype(int),
            "true_pass": 1 / (1 + np.exp(-logit)),
        }
    )
