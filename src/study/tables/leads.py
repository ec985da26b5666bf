"""Job leads: one row per lead, with where it came from, how far it got, and the source tie.

Research question 1 asks where job leads come from and how far they get. Rules:

* A lead is the set of ``job_lead`` events sharing ``(participant, lead)``. **first_seen** is its
  first event; **channel**, **contact** and **platform** are the first non-missing values in time.
* **furthest_stage** is the furthest of ``lead → applied → interview → offer → accepted`` it
  reached; ``reached_<stage>`` is true for that stage and every stage before it (an interview
  after a recruiter's call counts as having passed "applied"). **closed** is the closing stage
  recorded last (``accepted``, ``rejected`` or ``withdrawn``), NA while the lead is open.
* **basis**: the source contact's basis (from the contacts table); NA for a lead without contact.
* **Tie strength** (after Granovetter, *Getting a Job*, 1974, who asked how often the job seeker
  saw the contact when the information came): ``interactions_12m`` counts interactions with the
  contact, either direction, in the 365 days before ``first_seen``. Granovetter's bins translate to
  counts per year: **often** = at least twice a week (≥ 104), **rarely** = once a year or less
  (≤ 1), **occasionally** = in between. NA for a lead without contact.
* With a ties table (one row per tie spell, columns participant, contact, start, end and
  ``alive_at_cutoff`` — or ``end_reason``, ``censored`` or NA while the tie is alive, or
  ``ended`` for tables without those — as
  ``docs/definitions.md`` defines them), the tie's state when the lead came: **alive** (the latest
  spell started by then has not ended: censored, or its end after ``first_seen``) and
  **reliable** (alive, and within the window (t − W, t] before ``first_seen`` an interaction in
  each direction or a ``vouch_check`` with outcome ``known``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from study.tables.ties import alive_at_cutoff
from study.vocabulary import LEAD_CLOSING, LEAD_PROGRESS

#: Interactions a year for Granovetter's bins: "often" = at least twice a week.
OFTEN_PER_YEAR = 104
#: "rarely" = once a year or less.
RARELY_PER_YEAR = 1
STRENGTHS = ("often", "occasionally", "rarely")
COLUMNS = (
    "participant",
    "lead",
    "first_seen",
    "channel",
    "contact",
    "basis",
    "platform",
    "furthest_stage",
    *(f"reached_{s}" for s in LEAD_PROGRESS),
    "closed",
    "last_seen",
    "interactions_12m",
    "tie_strength",
)


def tie_strength(interactions_per_year: pd.Series) -> pd.Series:
    """Granovetter's often / occasionally / rarely from interactions in the prior 12 months."""
    n = pd.to_numeric(interactions_per_year, errors="coerce")
    out = pd.Series(pd.NA, index=n.index, dtype="string")
    out[n >= OFTEN_PER_YEAR] = "often"
    out[(n > RARELY_PER_YEAR) & (n < OFTEN_PER_YEAR)] = "occasionally"
    out[n <= RARELY_PER_YEAR] = "rarely"
    return out


def _first_valid(df: pd.DataFrame, col: str) -> pd.Series:
    return df.dropna(subset=[col]).groupby(["participant", "lead"], sort=False)[col].first()


def leads(
    events: pd.DataFrame,
    contacts: pd.DataFrame | None = None,
    *,
    ties: pd.DataFrame | None = None,
    window_days: int = 365,
) -> pd.DataFrame:
    """One row per job lead (see the module docstring for every column's rule)."""
    kind = events["kind"]
    jl = events[kind == "job_lead"]
    if jl.empty:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
        if ties is not None:
            out["alive"] = pd.Series(dtype="boolean")
            out["reliable"] = pd.Series(dtype="boolean")
        return out
    jl = _frame(
        jl, ["participant", "lead", "channel", "contact", "platform", "stage"], at="occurred_at"
    ).sort_values("occurred_at", kind="stable")
    g = jl.groupby(["participant", "lead"], sort=False)
    out = pd.DataFrame({"first_seen": g["occurred_at"].min(), "last_seen": g["occurred_at"].max()})
    for col in ("channel", "contact", "platform"):
        out[col] = _first_valid(jl, col)
    rank = jl["stage"].map({s: i for i, s in enumerate(LEAD_PROGRESS)})
    furthest = rank.groupby([jl["participant"], jl["lead"]], sort=False).max()
    out["_rank"] = furthest
    out["furthest_stage"] = out["_rank"].map(dict(enumerate(LEAD_PROGRESS))).astype("string")
    for i, s in enumerate(LEAD_PROGRESS):
        out[f"reached_{s}"] = (out["_rank"] >= i).fillna(False).astype(bool)
    closing = jl[jl["stage"].isin(LEAD_CLOSING)]
    out["closed"] = closing.groupby(["participant", "lead"], sort=False)["stage"].last()
    out = out.drop(columns="_rank").reset_index()
    for col in ("channel", "contact", "platform", "closed"):
        out[col] = out[col].astype("string")

    if contacts is not None and not contacts.empty:
        basis = contacts[["participant", "key", "basis"]].rename(columns={"key": "contact"})
        basis = basis.astype({"participant": "string", "contact": "string"})
        basis = basis.drop_duplicates(["participant", "contact"])
        out = out.merge(basis, on=["participant", "contact"], how="left")
        out["basis"] = out["basis"].astype("string")
    else:
        out["basis"] = pd.Series(pd.NA, index=out.index, dtype="string")

    inter = _interactions(events, out)
    out["interactions_12m"] = _count_before(out, inter, window_days=365)
    out["tie_strength"] = tie_strength(out["interactions_12m"])
    out = out[list(COLUMNS)]
    if ties is not None:
        state = _tie_state(out, ties, events, inter, window_days)
        out = pd.concat([out, state], axis=1)
    return out.sort_values(["participant", "first_seen", "lead"]).reset_index(drop=True)


def tie_state_at(
    leads_table: pd.DataFrame,
    at: pd.Series,
    ties: pd.DataFrame,
    events: pd.DataFrame,
    *,
    window_days: int = 365,
) -> pd.DataFrame:
    """The source tie's state (``alive``, ``reliable``, as in :func:`leads`) at the moments
    ``at`` instead of at ``first_seen``: e.g. at the start of the lead's month, before the
    interactions the lead itself brought about could make its tie reliable."""
    out = leads_table[["participant", "contact"]].assign(first_seen=pd.to_datetime(at, utc=True))
    out = out.reset_index(drop=True)
    inter = _interactions(events, out)
    state = _tie_state(out, ties, events, inter, window_days)
    state.index = leads_table.index
    return state


def _interactions(events: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """Interactions with the leads' source contacts only (keeps the merge small)."""
    kind = events["kind"]
    wanted = set(out["contact"].dropna())
    ev = events[kind == "interaction"]
    ev = ev[ev["contact"].isin(wanted)]
    return _frame(ev, ["participant", "contact", "direction"], at="at")


def _utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True)


def _frame(ev: pd.DataFrame, cols: list[str], *, at: str) -> pd.DataFrame:
    """Selected columns as strings (index reset) and ``occurred_at`` as UTC under ``at``."""
    out = pd.DataFrame({c: ev[c].astype("string") for c in cols}).reset_index(drop=True)
    out[at] = _utc(ev["occurred_at"]).reset_index(drop=True)
    return out


def _count_before(out: pd.DataFrame, inter: pd.DataFrame, *, window_days: int) -> pd.Series:
    """Interactions with the lead's contact in the window before first_seen (NA: no contact)."""
    left = out[["participant", "contact", "first_seen"]].reset_index()
    m = left.merge(inter, on=["participant", "contact"], how="inner")
    at, seen = _utc(m["at"]), _utc(m["first_seen"])
    inside = (at < seen) & (at >= seen - pd.Timedelta(days=window_days))
    counts = m[inside].groupby("index").size()
    result = pd.Series(0, index=out.index, dtype="Int64")
    result.loc[counts.index] = counts.to_numpy()
    result[out["contact"].isna()] = pd.NA
    return result


def _asof(left: pd.DataFrame, right: pd.DataFrame, right_on: str, value: str) -> pd.Series:
    """For each left row (index, participant, contact, t) the last right ``value`` at or before t."""
    if right.empty:
        return pd.Series(pd.NaT, index=left["index"], dtype="datetime64[ns, UTC]")
    l_ = left.assign(t=_utc(left["t"])).sort_values("t")
    r_ = right.assign(**{right_on: _utc(right[right_on])}).sort_values(right_on)
    r_ = r_.assign(_v=r_[value])
    merged = pd.merge_asof(
        l_,
        r_[["participant", "contact", right_on, "_v"]],
        left_on="t",
        right_on=right_on,
        by=["participant", "contact"],
        direction="backward",
        allow_exact_matches=True,
    )
    return merged.set_index("index")["_v"]


def _tie_state(
    out: pd.DataFrame,
    ties: pd.DataFrame,
    events: pd.DataFrame,
    inter: pd.DataFrame,
    window_days: int,
) -> pd.DataFrame:
    left = pd.DataFrame(
        {
            "index": out.index,
            "participant": out["participant"].astype("string"),
            "contact": out["contact"].astype("string"),
            "t": out["first_seen"],
        }
    ).dropna(subset=["contact"])
    t = ties.copy()
    t["participant"] = t["participant"].astype("string")
    t["contact"] = t["contact"].astype("string")
    t["start"] = _utc(t["start"])
    t["end"] = _utc(t["end"])
    if "alive_at_cutoff" in t or "end_reason" in t or "ended" in t:
        t["_ended"] = ~alive_at_cutoff(t)
    else:
        t["_ended"] = t["end"].notna()
    t["_spell"] = np.arange(len(t))
    spell = _asof(left, t, "start", "_spell")
    alive = pd.Series(False, index=out.index, dtype="boolean")
    found = spell.dropna().astype(int)
    rows = t.set_index("_spell").loc[found.to_numpy()]
    seen = _utc(out.loc[found.index, "first_seen"]).reset_index(drop=True)
    ends = rows["end"].reset_index(drop=True)
    still = (~rows["_ended"].to_numpy()) | (ends > seen).fillna(False).to_numpy()
    alive.loc[found.index] = still
    alive[out["contact"].isna()] = pd.NA

    window = pd.Timedelta(days=window_days)
    recent = pd.Series(True, index=left["index"])
    for direction in ("in", "out"):
        last = _asof(left, inter[inter["direction"] == direction], "at", "at")
        last = _utc(last.reindex(left["index"]))
        recent &= (last.notna() & (last > _utc(left.set_index("index")["t"]) - window)).to_numpy()
    kind = events["kind"]
    vouch = events[kind == "vouch_check"]
    vouch = vouch[vouch["outcome"].astype("string") == "known"]
    vouch = _frame(vouch, ["participant", "contact"], at="at")
    last_vouch = _utc(_asof(left, vouch, "at", "at").reindex(left["index"]))
    vouched = (
        last_vouch.notna() & (last_vouch > _utc(left.set_index("index")["t"]) - window)
    ).to_numpy()
    reliable = pd.Series(pd.NA, index=out.index, dtype="boolean")
    reliable.loc[left["index"].to_numpy()] = (recent.to_numpy() | vouched) & alive.loc[
        left["index"].to_numpy()
    ].fillna(False).to_numpy()
    return pd.DataFrame({"alive": alive, "reliable": reliable})
