"""The weekly metrics panel: views, followers, search rank … per week, with the interventions marked.

Research question 3 asks what moves the participant's online reputation; its analyses need one
row per participant and week. The rules that turn events into that panel:

* **Week**: starts on Monday (UTC calendar date of the event; bare dates are logged at noon in the
  study's time zone, so the day survives). Column ``week`` is the Monday, a tz-naive Timestamp.
* **Platforms**: by default summed across platforms (the participant's reputation on all networks
  together); ``by_platform=True`` keeps a ``platform`` column and one row per platform and week.
* **Count metrics** (``profile_views``, ``search_appearances``, ``post_impressions``) cover a
  period (``period_start``..``period_end``, inclusive days). A period's value is **distributed**
  over its days in equal parts and summed into the weeks those days fall in; so a monthly export
  spreads over four or five weeks, and two exports covering halves of a week add up. Column
  ``<metric>_days`` says how many of the week's 7 days some period covered (use ``days / 7`` as
  exposure for partially covered weeks). A week no period covers is missing (NaN), not zero.
  Summed over platforms, a week counts the days every platform reporting then (between its
  first and last entered day) covered, and a week one of them did not cover as the others did
  is missing (NaN, 0 days): 25 views from XING alone beside 40 from both is not a low week.
  Overlapping periods of the same metric and platform are summed as they are (do not log them).
* **Level metrics** (``followers``, ``connections``, ``googlability_rank``) take the **last value
  of the week** (by ``occurred_at``); summed across platforms for followers and connections
  (last value per platform, then the sum), and for the own-name rank (a web search, not a platform)
  the last value recorded in the week on any platform. Weeks without a value are NaN (not
  carried forward: a trend should see only what was measured).
* **Interventions**: ``intervention`` holds the sections of the week's ``profile_updated`` events
  (comma-separated, in order; NA in other weeks); ``weeks_since_first_intervention`` counts weeks
  from the participant's first update (0 in its week, negative before, NA if there is none).
* **Activity**: one column per activity type (``group_post``, ``article``, ``talk`` …) with the
  week's count, ``activity`` their total, and ``profile_updates`` the number of profile updates.

The panel covers every week from the participant's first to last metric, activity or profile
event, so gaps show as NaN rows rather than missing rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from study.vocabulary import ACTIVITY_TYPES, COUNT_METRICS

LEVEL_METRICS = ("followers", "connections", "googlability_rank")
#: Level metrics summed across platforms when the panel is not split by platform.
_SUMMED_LEVELS = ("followers", "connections")
_DAY = np.timedelta64(1, "D")


def _monday(days: pd.Series) -> pd.Series:
    """The Monday of each (tz-naive, normalized) day."""
    return days - pd.to_timedelta(days.dt.dayofweek, unit="D")


def _utc_day(ts: pd.Series) -> pd.Series:
    ts = pd.to_datetime(ts, utc=True)
    return ts.dt.tz_convert(None).dt.normalize()


def _naive_day(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert(None)
    return ts.dt.normalize()


def weekly_metrics(
    events: pd.DataFrame,
    *,
    participant: str | None = None,
    by_platform: bool = False,
) -> pd.DataFrame:
    """The weekly panel (see the module docstring for every rule).

    Columns: participant, [platform], week, one column per count metric with ``<metric>_days``,
    followers, connections, googlability_rank, intervention, weeks_since_first_intervention,
    profile_updates, one column per activity type, activity.
    """
    ev = events
    if participant is not None:
        ev = ev[ev["participant"] == participant]
    if by_platform:  # one key type everywhere: "" stands for "no platform" until the end
        ev = ev.assign(platform=ev["platform"].astype("string").fillna(""))
    kind = ev["kind"]
    keys = ["participant", "platform"] if by_platform else ["participant"]
    used = ("participant", "platform", "occurred_at", "name", "value", "period_start", "period_end")
    metric = ev.loc[kind == "metric", [c for c in ev.columns if c in used]]
    frames = [
        _count_metrics(metric, keys),
        _level_metrics(metric, keys, by_platform),
        _activity(ev[kind == "activity"], keys),
        _profile_updates(ev[kind == "profile_updated"], keys),
    ]
    frames = [f for f in frames if not f.empty]
    columns = _columns(by_platform)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).astype(
            {"participant": "string", "week": "datetime64[ns]"}
        )
    # every week from each participant's (and platform's) first to last week with data
    spans = pd.concat([f[[*keys, "week"]] for f in frames]).groupby(
        keys, observed=True, dropna=False
    )["week"]
    lo, hi = spans.min(), spans.max()
    n_weeks = ((hi - lo) / np.timedelta64(7, "D")).astype(int) + 1
    grid = lo.index.to_frame(index=False).loc[np.repeat(np.arange(len(lo)), n_weeks.to_numpy())]
    offsets = np.concatenate([np.arange(n) for n in n_weeks.to_numpy()]) if len(lo) else []
    grid["week"] = np.repeat(lo.to_numpy(), n_weeks.to_numpy()) + pd.to_timedelta(
        np.asarray(offsets, dtype="int64") * 7, unit="D"
    )
    panel = grid.reset_index(drop=True)
    for f in frames:
        panel = panel.merge(f, on=[*keys, "week"], how="left")
    for col in columns:
        if col not in panel:
            panel[col] = np.nan
    for col in (*ACTIVITY_TYPES, "activity", "profile_updates"):
        panel[col] = panel[col].fillna(0).astype("int64")
    for m in COUNT_METRICS:
        panel[f"{m}_days"] = panel[f"{m}_days"].fillna(0).astype("int64")
    panel["intervention"] = panel["intervention"].astype("string")
    first = (
        panel.loc[panel["profile_updates"] > 0]
        .groupby("participant", observed=True)["week"]
        .min()
        .rename("_first")
    )
    panel = panel.merge(first, left_on="participant", right_index=True, how="left")
    panel["weeks_since_first_intervention"] = pd.array(
        ((panel["week"] - panel.pop("_first")) / np.timedelta64(7, "D")).round(), dtype="Int64"
    )
    panel["participant"] = panel["participant"].astype("string")
    if by_platform:
        panel["platform"] = panel["platform"].astype("string").replace("", pd.NA)
    return panel[columns].sort_values([*keys, "week"]).reset_index(drop=True)


def _columns(by_platform: bool) -> list[str]:
    cols = ["participant", *(["platform"] if by_platform else []), "week"]
    for m in COUNT_METRICS:
        cols += [m, f"{m}_days"]
    cols += [*LEVEL_METRICS, "intervention", "weeks_since_first_intervention", "profile_updates"]
    cols += [*ACTIVITY_TYPES, "activity"]
    return cols


def _count_metrics(metric: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Distribute each period's value over its days and sum the shares into weeks."""
    m = metric[metric["name"].isin(COUNT_METRICS)]
    m = m[m["value"].notna() & m["period_start"].notna() & m["period_end"].notna()]
    if m.empty:
        return pd.DataFrame(columns=[*keys, "week"])
    start = _naive_day(m["period_start"]).to_numpy()
    end = _naive_day(m["period_end"]).to_numpy()
    n_days = (end - start) / _DAY + 1
    first_week = _monday(pd.Series(start)).to_numpy()
    last_week = _monday(pd.Series(end)).to_numpy()
    n_weeks = ((last_week - first_week) / np.timedelta64(7, "D")).astype(int) + 1
    rep = np.repeat(np.arange(len(m)), n_weeks)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(n_weeks) - n_weeks, n_weeks)
    week = first_week[rep] + offset * np.timedelta64(7, "D")
    lo = np.maximum(start[rep], week)
    hi = np.minimum(end[rep], week + np.timedelta64(6, "D"))
    covered = (hi - lo) / _DAY + 1
    # group on integer codes (the same groups, in the same order, as the labels give; far
    # cheaper than Python strings), then put the labels back
    labels: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    for k, values in [*((k, m[k]) for k in keys), ("name", m["name"])]:
        c, uniques = pd.factorize(values, use_na_sentinel=False)
        codes[k] = c[rep]
        labels[k] = _labels(uniques, str if k == "name" else None)
    parts = pd.DataFrame(
        {
            **codes,
            "week": week,
            "value": m["value"].to_numpy()[rep] * covered / n_days[rep],
            "days": covered,
        }
    )
    # days covered: when summing platforms, a week counts only as far as every platform that
    # was reporting then (between its first and last entered day) covered it; a week one of
    # them missed is missing, not low
    by = [*keys, "name", "week"]
    summed = parts.groupby(by, observed=True, sort=False, dropna=False).agg(
        value=("value", "sum"), days=("days", "sum")
    )
    if "platform" not in keys and "platform" in metric:
        platform = m["platform"]  # the rows of m, which rep counts in
        if isinstance(platform.dtype, pd.CategoricalDtype):  # codes: the groups of astype(str)
            platform = platform.cat.codes.to_numpy()
        else:
            platform, _ = pd.factorize(platform.astype(str), use_na_sentinel=False)
        summed["days"], complete = _days_every_platform(
            parts.assign(platform=platform[rep]), summed.index, by
        )
        summed.loc[~complete, "value"] = np.nan
    idx = summed.index
    summed.index = pd.MultiIndex.from_arrays(
        [
            *(labels[k][idx.get_level_values(k).to_numpy()] for k in [*keys, "name"]),
            idx.get_level_values("week"),
        ],
        names=by,
    )
    summed["days"] = summed["days"].clip(upper=7)
    wide = summed.unstack("name")
    wide.columns = [n if v == "value" else f"{n}_days" for v, n in wide.columns]
    return wide.reset_index()


def _days_every_platform(
    parts: pd.DataFrame, index: pd.MultiIndex, by: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``index`` (keys, name, week): the days every reporting platform covered (the
    fewest), and whether all of them covered the same days (else the sum is not comparable)."""
    days = parts.groupby([*by, "platform"], observed=True, sort=False)["days"].sum().clip(upper=7)
    span_by = [b for b in by if b != "week"] + ["platform"]
    spans = parts.groupby(span_by, observed=True, sort=False)["week"].agg(["min", "max"])
    rows = index.to_frame(index=False)
    rows["_row"] = np.arange(len(rows))
    active = rows.merge(spans.reset_index(), on=span_by[:-1], how="left")
    active = active[(active["week"] >= active["min"]) & (active["week"] <= active["max"])]
    active = active.merge(days.rename("_days").reset_index(), on=[*by, "platform"], how="left")
    active["_days"] = active["_days"].fillna(0)
    g = active.groupby("_row")["_days"]
    fewest = g.min().reindex(rows["_row"]).to_numpy()
    most = g.max().reindex(rows["_row"]).to_numpy()
    return np.nan_to_num(fewest).astype(float), (fewest == most)


def _labels(uniques: Any, kind: Any = None) -> np.ndarray:
    """The distinct values of a key as the object array ``column.to_numpy()`` would hold."""
    if kind is str:
        return np.array([str(v) for v in uniques], dtype=object)
    return np.asarray(pd.Series(uniques).to_numpy(), dtype=object)


def _level_metrics(metric: pd.DataFrame, keys: list[str], by_platform: bool) -> pd.DataFrame:
    """The last value of each level metric in each week (summed over platforms if asked)."""
    m = metric[metric["name"].isin(LEVEL_METRICS) & metric["value"].notna()]
    if m.empty:
        return pd.DataFrame(columns=[*keys, "week"])
    m = pd.DataFrame(
        {
            "participant": m["participant"].to_numpy(),
            "platform": m["platform"].astype("string").fillna("").to_numpy(),
            "name": m["name"].astype(str).to_numpy(),
            "value": m["value"].to_numpy(),
            "occurred_at": pd.to_datetime(m["occurred_at"], utc=True)
            .dt.tz_convert(None)
            .to_numpy(),
            "week": _monday(_utc_day(m["occurred_at"])).to_numpy(),
        }
    ).sort_values("occurred_at", kind="stable")
    if by_platform:
        last = m.groupby([*keys, "name", "week"], sort=False).last()["value"]
        return last.unstack("name").reset_index()
    per_platform = m.groupby(["participant", "platform", "name", "week"], sort=False).last()
    summed = (
        per_platform[per_platform.index.get_level_values("name").isin(_SUMMED_LEVELS)]
        .groupby(level=["participant", "name", "week"])["value"]
        .sum()
    )
    rank = m[m["name"] == "googlability_rank"].groupby(["participant", "name", "week"]).last()
    both = pd.concat([summed, rank["value"]]) if not rank.empty else summed
    return both.unstack("name").reset_index()


def _activity(act: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if act.empty:
        return pd.DataFrame(columns=[*keys, "week"])
    frame = act[keys].copy()
    frame["week"] = _monday(_utc_day(act["occurred_at"])).to_numpy()
    frame["type"] = act["type"].astype("string").fillna("other").to_numpy()
    counts = (
        frame.groupby([*keys, "week", "type"], observed=True, dropna=False).size().unstack("type")
    )
    counts = counts.reindex(columns=list(ACTIVITY_TYPES), fill_value=0).fillna(0)
    counts["activity"] = counts.sum(axis=1)
    return counts.reset_index()


def _profile_updates(upd: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if upd.empty:
        return pd.DataFrame(columns=[*keys, "week"])
    frame = upd[keys].copy()
    frame["week"] = _monday(_utc_day(upd["occurred_at"])).to_numpy()
    frame["occurred_at"] = (
        pd.to_datetime(upd["occurred_at"], utc=True).dt.tz_convert(None).to_numpy()
    )
    frame["section"] = upd["section"].astype("string").fillna("other").to_numpy()
    frame = frame.sort_values("occurred_at", kind="stable")
    grouped = frame.groupby([*keys, "week"], observed=True, sort=False, dropna=False)
    out = grouped["section"].agg(lambda s: ",".join(dict.fromkeys(s))).rename("intervention")
    return pd.concat([out, grouped.size().rename("profile_updates")], axis=1).reset_index()


# --- count metrics at the resolution they were entered in ---------------------------------------

PERIOD_COLUMNS = ("participant", "start", "end", "days", "value", "complete", "platforms")


def metric_periods(
    events: pd.DataFrame, metric: str = "profile_views", *, participant: str | None = None
) -> pd.DataFrame:
    """A count metric as it was entered: one row per participant and entered period.

    The weekly panel spreads every period over its days, which suits a figure but not a model:
    a monthly count spread over four weeks looks like four independent weeks (pseudo-replication),
    and a week one platform did not report looks low, not missing. Here instead:

    * **Periods**: the periods of the platforms entered at the coarsest resolution (the longest
      median period); entries of other platforms are added to them by the days they share
      (a weekly platform into a monthly grid). When all platforms use the same periods (the
      usual case) the rows are exactly the entered periods.
    * **Platforms**: each platform counts from its first to its last entered day (before and
      after, it adds nothing: not yet joined, or left). A period inside a platform's span that
      the platform did not cover on every day is **incomplete**: ``value`` is NaN (missing, not
      low) and ``complete`` False.
    * ``days`` is the period's length (inclusive days); ``value`` the sum over platforms;
      ``platforms`` how many platforms were counted in it.

    Columns: participant, start, end (tz-naive dates), days, value, complete, platforms.
    """
    ev = events[events["kind"] == "metric"]
    if participant is not None:
        ev = ev[ev["participant"] == participant]
    ev = ev[(ev["name"].astype("string") == metric) & ev["value"].notna()]
    ev = ev[ev["period_start"].notna() & ev["period_end"].notna()]
    if ev.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in PERIOD_COLUMNS})
    entries = pd.DataFrame(
        {
            "participant": ev["participant"].astype("string").to_numpy(),
            "platform": ev["platform"].astype("string").fillna("").to_numpy(),
            "start": _naive_day(ev["period_start"]).to_numpy(),
            "end": _naive_day(ev["period_end"]).to_numpy(),
            "value": ev["value"].to_numpy(dtype=float),
        }
    )
    entries["days"] = (entries["end"] - entries["start"]) / _DAY + 1
    frames = [_periods_of(p, g) for p, g in entries.groupby("participant", sort=True)]
    out = pd.concat(frames, ignore_index=True)
    return out[list(PERIOD_COLUMNS)]


def _periods_of(pid: str, entries: pd.DataFrame) -> pd.DataFrame:
    # the grid: the periods of the platforms whose entries are longest
    median_days = entries.groupby("platform")["days"].median()
    coarsest = median_days[median_days == median_days.max()].index
    grid = (
        entries.loc[entries["platform"].isin(coarsest), ["start", "end"]]
        .drop_duplicates()
        .sort_values("start")
        .reset_index(drop=True)
    )
    g_start = grid["start"].to_numpy()
    g_end = grid["end"].to_numpy()
    g_days = (g_end - g_start) / _DAY + 1
    total = np.zeros(len(grid))
    complete = np.ones(len(grid), dtype=bool)
    counted = np.zeros(len(grid), dtype=int)
    for _, e in entries.groupby("platform", sort=True):
        s = e["start"].to_numpy()
        t = e["end"].to_numpy()
        v = e["value"].to_numpy()
        d = e["days"].to_numpy()
        # days each entry shares with each grid period (periods x entries)
        lo = np.maximum(g_start[:, None], s[None, :])
        hi = np.minimum(g_end[:, None], t[None, :])
        shared = np.clip((hi - lo) / _DAY + 1, 0, None)
        value = (shared * (v / d)[None, :]).sum(axis=1)
        covered = np.minimum(shared.sum(axis=1), g_days)
        first, last = s.min(), t.max()
        span_lo = np.maximum(g_start, first)
        span_hi = np.minimum(g_end, last)
        in_span = np.clip((span_hi - span_lo) / _DAY + 1, 0, None)
        active = in_span > 0
        # inside its span a platform must cover every day of the period it is active in
        complete &= ~active | (covered >= in_span)
        total += value
        counted += active.astype(int)
    return pd.DataFrame(
        {
            "participant": pid,
            "start": g_start,
            "end": g_end,
            "days": g_days.astype(int),
            "value": np.where(complete, total, np.nan),
            "complete": complete,
            "platforms": counted,
        }
    )
