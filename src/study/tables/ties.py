"""The ties table: one row per tie spell, with its start, end or censoring, and its interactions.

Follows ``docs/definitions.md`` (the contract with the simulator) exactly; the short version:

* a spell starts at a ``request_accepted`` (the contact's first, or the first after a
  ``contact_removed`` / ``contact_hidden``); a contact without any accepted request before its
  first end event is an imported tie starting at the contact's ``first_seen`` - unless the log
  shows only requests for it (a pending or declined request is no tie);
* it ends at the first of: ``contact_removed``, ``contact_hidden``, or going quiet - W days or
  more with no interaction, the end then being the last interaction (or the start);
* otherwise, as known at the cut-off, it is still alive; ``end`` is then its last sign of life
  (the later of start and last interaction);
* the survival columns (``duration_days``, ``ended``) follow each tie only up to the
  *outcome-known horizon* ``cutoff - W``, where every tie's fate is known: a tie that went
  quiet shortly before the cut-off cannot yet be told from a living one, while a removal is
  seen at once; ending follow-up at the horizon keeps the two comparable (unbiased hazards);
* reliable at t: alive, and an interaction in each direction within (t - W, t], or a vouch check
  with outcome ``known`` in that window.

Vectorized pandas throughout (sorts, group shifts, ``merge_asof``): the table is built for
millions of events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from study.errors import StudyError
from study.tables.observation import (  # noqa: F401 (re-exported: the ties' window)
    ARCHIVE_SOURCES,
    OBSERVING_KINDS,
    as_utc,
    observation_starts,
    observed_from_per_spell,
)
from study.vocabulary import BASES, COLLECTOR_CONNECTIONS, PLATFORMS

DAY = pd.Timedelta(days=1)

TIE_COLUMNS = (
    "participant",
    "contact",
    "spell",
    "platform",
    "basis",
    "introducer",
    "introducer_basis",
    "introducer_connections",
    "introducer_collector",
    "introducer_reliable",
    "with_message",
    "start",
    "end",
    "end_reason",
    "alive_at_cutoff",
    "observed_from",
    "prevalent",
    "age_known",
    "entry_days",
    "followup_end",
    "duration_days",
    "ended",
    "n_in",
    "n_out",
    "last_in",
    "last_out",
    "last_two_way",
    "reliable_at_end",
    "interacted_after_quiet",
)
END_REASONS = ("removed", "hidden", "went_quiet", "censored")

# order of simultaneous events: a request leads to the acceptance, which starts the spell before
# anything else happens at that moment; an end event comes last.
_ORDER = {
    "request_sent": 0,
    "request_received": 0,
    "request_declined": 0,
    "request_withdrawn": 0,
    "request_accepted": 1,
    "_first_seen": 1,
    "interaction": 2,
    "vouch_check": 2,
    "introduction": 2,
    "contact_removed": 3,
    "contact_hidden": 3,
}
_KIND = pd.CategoricalDtype(list(_ORDER))
_DIRECTION = pd.CategoricalDtype(["in", "out"])
_OUTCOME = pd.CategoricalDtype(["known", "unknown"])
_STARTS = ("request_accepted", "_first_seen")
_ENDS = ("contact_removed", "contact_hidden")
_REQUESTS = ("request_sent", "request_received", "request_declined", "request_withdrawn")


def _arrow_text(values: pd.Series) -> Any:
    """A text column as one Arrow array (large strings): Arrow-backed columns as they are."""
    import pyarrow as pa

    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        values = values.astype("string").astype(pd.StringDtype("pyarrow"))
    arr = pa.array(values.array)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return arr.cast(pa.large_string())


def _pair_ids(*frames: tuple[pd.DataFrame, str, str]) -> list[np.ndarray]:
    """One integer per (participant, contact) pair, consistent across several frames.

    The texts are hashed by Arrow (``dictionary_encode``; a missing value is a value of its own),
    not turned into Python strings.
    """
    import pyarrow as pa

    def codes(col: int) -> tuple[np.ndarray, int]:
        arr = pa.concat_arrays([_arrow_text(f[names[col]]) for f, *names in frames])
        enc = arr.dictionary_encode(null_encoding="encode")
        return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(enc.dictionary)

    pc, _ = codes(0)
    cc, n_contacts = codes(1)
    ids, _ = pd.factorize(pc * (n_contacts + 1) + cc)
    out, i = [], 0
    for f, _, _ in frames:
        out.append(ids[i : i + len(f)])
        i += len(f)
    return out


_NEEDED = ("participant", "contact", "occurred_at", "kind")
_OPTIONAL = ("direction", "with_message", "outcome", "introducer", "introducer_connections")


def _contact_events(
    events: pd.DataFrame, cutoff: pd.Timestamp | None, kinds: Sequence[str] = tuple(_ORDER)
) -> pd.DataFrame:
    """The events about a contact that the tables use (up to ``cutoff``; of ``kinds``, by
    default all the tables use), with small dtypes.

    Anyone's events table works if it has participant, contact, occurred_at (UTC) and kind;
    the attribute columns it lacks count as missing.
    """
    missing = [c for c in _NEEDED if c not in events]
    if missing:
        raise StudyError(f"the events table lacks the columns {missing}")
    keep = events["contact"].notna() & events["kind"].isin(list(kinds))
    if cutoff is not None:
        keep &= events["occurred_at"] <= cutoff
    ev = events.loc[keep, [*_NEEDED, *(c for c in _OPTIONAL if c in events)]]
    for c in _OPTIONAL:
        if c not in ev:
            ev[c] = pd.Series(np.nan if c == "introducer_connections" else pd.NA, index=ev.index)
    ev["kind"] = ev["kind"].astype(_KIND)
    ev["direction"] = _categorical(ev["direction"], _DIRECTION)
    ev["outcome"] = _categorical(ev["outcome"], _OUTCOME)
    if not isinstance(ev["introducer"].dtype, pd.StringDtype):  # Arrow-backed text stays so
        ev["introducer"] = ev["introducer"].astype("string")
    ev["with_message"] = ev["with_message"].astype("boolean")
    return ev


def _categorical(values: pd.Series, dtype: pd.CategoricalDtype) -> pd.Series:
    """``values.astype(dtype)``; Arrow-backed text is looked up by Arrow, not as Python objects."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return values.astype(dtype)
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values.array)
    cats = pa.array(list(dtype.categories), type=arr.type)
    codes = pc.fill_null(pc.index_in(arr, value_set=cats), -1)
    codes = np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int8)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=values.index)


def spells(
    events: pd.DataFrame, contacts: pd.DataFrame, cutoff: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spell boundaries (participant, contact, pair, spell, start, end_event_at, end_event) and
    the contact events up to the cut-off with their pair ids.

    The building block of :func:`ties` (documented there).
    """
    cutoff = as_utc(cutoff)
    full = _contact_events(events, None)
    con = contacts.loc[contacts["first_seen"] <= cutoff, ["key", "participant", "first_seen"]]
    ev_pair, con_pair = _pair_ids((full, "participant", "contact"), (con, "participant", "key"))
    full["pair"] = ev_pair

    # imported ties (what kind of contact it is, judged on the whole log): contacts whose first
    # boundary is not an accepted request, and contacts with no boundary at all unless the log
    # shows requests for them (a pending or declined request is no tie)
    allb = full.loc[full["kind"].isin(_STARTS + _ENDS), ["pair", "occurred_at", "kind"]]
    first_kind = (
        allb.assign(o=allb["kind"].map(_ORDER).astype(int))
        .sort_values(["pair", "occurred_at", "o"])
        .groupby("pair", sort=False)["kind"]
        .first()
    )
    requested = full.loc[full["kind"].isin(_REQUESTS), "pair"].unique()
    ev = full[full["occurred_at"] <= cutoff]
    ev_pair = ev["pair"].to_numpy()
    bounds = ev.loc[ev["kind"].isin(_STARTS + _ENDS), ["pair", "occurred_at", "kind"]]
    fk = first_kind.reindex(con_pair)
    imported = np.where(
        fk.isna().to_numpy(),
        ~np.isin(con_pair, requested),
        fk.isin(_ENDS).to_numpy(),
    )
    synthetic = pd.DataFrame(
        {
            "pair": con_pair[imported],
            "occurred_at": pd.to_datetime(con["first_seen"], utc=True).array[imported],
            "kind": pd.Categorical.from_codes(
                np.full(int(imported.sum()), _KIND.categories.get_loc("_first_seen")), dtype=_KIND
            ),
        }
    )
    b = pd.concat([bounds, synthetic], ignore_index=True) if len(synthetic) else bounds.copy()
    b["o"] = b["kind"].map(_ORDER).astype(int)
    b = b.sort_values(["pair", "occurred_at", "o"], kind="stable").reset_index(drop=True)
    is_start = b["kind"].isin(_STARTS)
    prev_start = is_start.groupby(b["pair"]).shift(1)
    b["new_spell"] = is_start & (prev_start.isna() | (prev_start == False))  # noqa: E712
    b["spell"] = b["new_spell"].astype(int).groupby(b["pair"]).cumsum()
    b = b[b["spell"] > 0]
    starts = b.loc[b["new_spell"], ["pair", "spell", "occurred_at", "kind"]].rename(
        columns={"occurred_at": "start", "kind": "start_kind"}
    )
    starts["from_first_seen"] = (starts.pop("start_kind") == "_first_seen").to_numpy(bool)
    ends = (
        b.loc[b["kind"].isin(_ENDS), ["pair", "spell", "occurred_at", "kind"]]
        .groupby(["pair", "spell"], sort=False)
        .first()
        .rename(columns={"occurred_at": "end_event_at", "kind": "end_event"})
        .reset_index()
    )
    sp = starts.merge(ends, on=["pair", "spell"], how="left")
    # each pair's participant and contact, from its first row (and each frame's first row, so
    # that the columns' types come out as from the whole frames)
    first = ~pd.Series(np.concatenate([ev_pair, con_pair])).duplicated().to_numpy()
    if len(ev_pair):
        first[0] = True
    if len(con_pair):
        first[len(ev_pair)] = True
    in_ev, in_con = first[: len(ev_pair)], first[len(ev_pair) :]
    who = pd.concat(
        [
            pd.DataFrame(
                {
                    "pair": ev_pair[in_ev],
                    "participant": ev["participant"][in_ev],
                    "contact": ev["contact"][in_ev],
                }
            ),
            pd.DataFrame(
                {
                    "pair": con_pair[in_con],
                    "participant": con["participant"][in_con],
                    "contact": con["key"][in_con],
                }
            ),
        ],
        ignore_index=True,
    ).drop_duplicates("pair")
    sp = sp.merge(who, on="pair", how="left")
    return sp, ev


def _contact_info(sp: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Each spell's contact's platform and whether its first_seen is a stand-in (by position)."""
    c = contacts[["participant", "key", "platform"]].rename(columns={"key": "contact"})
    est = contacts.get("first_seen_estimated")
    c = c.assign(
        estimated=False if est is None else est.fillna(False).astype(bool).to_numpy(),
    ).astype({"participant": "string", "contact": "string", "platform": "string"})
    left = sp[["participant", "contact"]].astype("string")
    m = left.merge(
        c.drop_duplicates(["participant", "contact"]), on=["participant", "contact"], how="left"
    )
    m["estimated"] = m["estimated"].fillna(False).astype(bool)
    return m.set_axis(sp.index)


def _last_before(
    left: pd.DataFrame, right: pd.DataFrame, on_left: str, name: str, *, strict: bool = False
) -> pd.Series:
    """For each row of ``left`` (pair, ``on_left``), the latest ``right.at`` of the same pair at or
    before the row's time (strictly before with ``strict``)."""
    lt = left[["pair", on_left]].reset_index().rename(columns={on_left: "t"})
    lt = lt[lt["t"].notna()].sort_values("t")
    rt = right[["pair", "at"]].sort_values("at")
    rt = rt.assign(**{name: rt["at"]})
    m = pd.merge_asof(lt, rt, left_on="t", right_on="at", by="pair", allow_exact_matches=not strict)
    return m.set_index("index")[name].reindex(left.index)


def reliable_at(
    pairs: pd.DataFrame,
    inter: pd.DataFrame,
    known: pd.DataFrame,
    *,
    at: str,
    window_days: float,
) -> pd.DataFrame:
    """Last in, last out and last ``known`` vouch at or before ``pairs[at]``; reliable or not.

    ``pairs`` has a ``pair`` column; ``inter`` (pair, occurred_at, direction) holds the
    interactions and ``known`` (pair, occurred_at) the vouch checks with outcome ``known`` that
    count. Aliveness is the caller's business.
    """
    w = pd.Timedelta(days=window_days)
    out = pd.DataFrame(index=pairs.index)
    for direction in ("in", "out"):
        part = inter.loc[inter["direction"] == direction, ["pair", "occurred_at"]]
        out[f"last_{direction}"] = _last_before(
            pairs, part.rename(columns={"occurred_at": "at"}), at, "x"
        )
    out["last_known"] = _last_before(
        pairs, known[["pair", "occurred_at"]].rename(columns={"occurred_at": "at"}), at, "x"
    )
    t = pairs[at]
    two_way = out[["last_in", "last_out"]].min(axis=1, skipna=False)
    out["last_two_way"] = two_way
    out["reliable"] = ((two_way > t - w) | (out["last_known"] > t - w)).fillna(False).astype(bool)
    return out


def _known(ev: pd.DataFrame) -> pd.DataFrame:
    return ev.loc[
        (ev["kind"] == "vouch_check") & (ev["outcome"] == "known"), ["pair", "occurred_at"]
    ]


def ties(
    events: pd.DataFrame,
    contacts: pd.DataFrame,
    *,
    cutoff: Any,
    window_days: float = 365,
    observed_from: Any = None,
) -> pd.DataFrame:
    """One row per tie spell, following ``docs/definitions.md``.

    Columns: participant, contact, spell (1, 2, ... per contact), platform, basis, introducer,
    introducer_basis, introducer_connections, introducer_collector (the introduction's
    ``introducer_connections`` >= ``COLLECTOR_CONNECTIONS``), introducer_reliable (the
    introducer's own tie was reliable at the introduction; NA for ties without an introducer),
    with_message (of the last request before the spell's start; NA if none), start, n_in, n_out
    (interactions in the spell up to its end), last_in, last_out, last_two_way (the earlier of
    last_in and last_out: reliable until W days after it).

    The observation window (:func:`observation_starts`): ``observed_from`` is the moment the
    log begins to see the tie's participant on its platform; a tie that started before it is
    ``prevalent``: its quiet clock starts there, and it enters the survival risk set there, at
    its age then (``entry_days``; left truncation). ``age_known`` is False for an imported tie
    whose start is a stand-in (``first_seen_estimated``, e.g. XING vCards): it has no survival
    columns. ``observed_from`` given here (a moment, or a mapping from participant or from
    (participant, platform) to a moment) overrides the one read from the log.

    State as known at the cut-off (for lists and overviews): ``end`` (the end, or the last sign
    of life of a tie still alive), ``end_reason`` (removed, hidden, went_quiet; ``censored``:
    alive), ``alive_at_cutoff`` (bool), ``reliable_at_end`` (at the end for an ended tie, at the
    cut-off for a live one), ``interacted_after_quiet`` (a tie that went quiet had an
    interaction after the gap: "quiet" was wrong about it).

    Survival (what Kaplan-Meier, Cox and the at-risk list use): follow-up ends at the
    *outcome-known horizon* ``cutoff - W``; ``followup_end`` is the end if the tie ended by then,
    else the horizon; ``duration_days`` = followup_end - start (the tie's age); ``ended`` = 1 if
    the tie ended by the horizon (any reason), else 0 (censored there, even if it was removed
    later). A tie has no survival columns (``followup_end`` NaT, ``duration_days`` NaN, ``ended``
    0) when it entered observation after the horizon, when its age is unknown, or when it was
    prevalent and had ended by the time the log began to see it (removed before, or quiet from
    the start). See ``docs/definitions.md``.

    Events after ``cutoff`` are ignored. ``events`` and ``contacts`` are as
    :meth:`study.Study.events` and :meth:`study.Study.contacts` give them.
    """
    cutoff = as_utc(cutoff)
    w = pd.Timedelta(days=window_days)
    sp, ev = spells(events, contacts, cutoff)
    sp = sp.sort_values(["pair", "spell"]).reset_index(drop=True)
    sp["next_start"] = sp.groupby("pair")["start"].shift(-1)
    sp["horizon"] = sp["end_event_at"].fillna(cutoff)
    sp["sid"] = np.arange(len(sp))

    # the observation window: the quiet clock of a prevalent tie starts when the log begins to
    # see its participant's platform, never at a connection date years back
    own = _contact_info(sp, contacts)
    sp["observed_from"] = observed_from_per_spell(
        sp["participant"], own["platform"], events, contacts, cutoff, observed_from
    ).array
    sp["prevalent"] = (sp["start"] < sp["observed_from"]).to_numpy(bool)
    sp["age_known"] = ~(sp["from_first_seen"].to_numpy(bool) & own["estimated"].to_numpy(bool))
    sp["first_anchor"] = sp["start"].where(~sp["prevalent"], sp["observed_from"])

    # interactions: assign each to the latest spell start at or before it (by pair), keep those
    # up to the spell's end event (or the cut-off)
    inter = ev.loc[ev["kind"] == "interaction", ["pair", "occurred_at", "direction"]]
    inter = inter.sort_values("occurred_at")
    key = sp[["pair", "start", "sid", "horizon"]].sort_values("start")
    inter = pd.merge_asof(inter, key, left_on="occurred_at", right_on="start", by="pair")
    inter = inter[inter["sid"].notna() & (inter["occurred_at"] <= inter["horizon"])]
    inter["sid"] = inter["sid"].astype(int)

    # anchors: the first anchor (the start, or the observation start of a prevalent tie) and
    # every interaction from it on; a gap of W or more after an anchor (to the next anchor, or
    # to the end event / cut-off) means the tie went quiet at that anchor
    first_anchor = sp["first_anchor"].array.take(inter["sid"].to_numpy())
    seen = inter[(inter["occurred_at"] >= first_anchor).to_numpy(bool)]
    anchors = pd.concat(
        [
            sp[["sid", "first_anchor"]].rename(columns={"first_anchor": "t"}),
            seen[["sid", "occurred_at"]].rename(columns={"occurred_at": "t"}),
        ],
        ignore_index=True,
    )
    # by spell, then time; stable (NumPy's lexsort on the integers, no NaT here)
    anchors = anchors.take(
        np.lexsort((anchors["t"].array.asi8, anchors["sid"].to_numpy(dtype=np.int64)))
    )
    nxt = anchors.groupby("sid")["t"].shift(-1)
    horizon = sp["horizon"].array.take(anchors["sid"].to_numpy())
    nxt = nxt.fillna(pd.Series(horizon, index=anchors.index))
    quiet = anchors[(nxt - anchors["t"]) >= w].groupby("sid")["t"].first()
    last_sign = anchors.groupby("sid")["t"].max()

    sp["quiet_at"] = quiet.reindex(sp["sid"]).array
    sp["last_sign"] = last_sign.reindex(sp["sid"]).array
    has_quiet = sp["quiet_at"].notna()
    has_end = sp["end_event_at"].notna()
    sp["end_reason"] = np.select(
        [has_quiet, has_end & (sp["end_event"] == "contact_removed"), has_end],
        ["went_quiet", "removed", "hidden"],
        "censored",
    )
    sp["end"] = sp["quiet_at"].where(has_quiet, sp["end_event_at"].where(has_end, sp["last_sign"]))
    sp["alive_at_cutoff"] = sp["end_reason"] == "censored"
    # "quiet" was wrong about a tie that interacted again after the gap
    later = inter.merge(sp.loc[has_quiet, ["sid", "quiet_at"]], on="sid")
    revived = later.loc[later["occurred_at"] > later["quiet_at"], "sid"].unique()
    sp["interacted_after_quiet"] = sp["sid"].isin(revived).to_numpy(bool)
    sp = _followup(sp, cutoff - w)

    # interaction counts and reliability within the spell, up to its end
    inter = inter.merge(sp[["sid", "end"]], on="sid")
    inter = inter[inter["occurred_at"] <= inter["end"]]
    counts = inter.groupby(["sid", "direction"], observed=False).size().unstack(fill_value=0)
    for d in ("in", "out"):
        sp[f"n_{d}"] = (
            counts[d].reindex(sp["sid"]).fillna(0).astype(int).to_numpy() if d in counts else 0
        )
    sp["rel_at"] = sp["end"].where(~sp["alive_at_cutoff"], cutoff)
    # reliability only from interactions of this spell (not of an earlier one); a vouch check
    # is about the person, so it counts for every spell
    known = _known(ev).merge(sp[["pair", "sid"]], on="pair")
    rel = reliable_at(
        sp[["sid", "rel_at"]].rename(columns={"sid": "pair"}),
        inter[["sid", "occurred_at", "direction"]].rename(columns={"sid": "pair"}),
        known[["sid", "occurred_at"]].rename(columns={"sid": "pair"}),
        at="rel_at",
        window_days=window_days,
    )
    sp["last_in"] = rel["last_in"]
    sp["last_out"] = rel["last_out"]
    sp["last_two_way"] = rel["last_two_way"]
    sp["reliable_at_end"] = rel["reliable"]

    # with_message: the last request (sent or received) at or before the start
    req = ev.loc[
        ev["kind"].isin(["request_sent", "request_received"]),
        ["pair", "occurred_at", "with_message"],
    ]
    wm = pd.merge_asof(
        sp[["sid", "pair", "start"]].sort_values("start"),
        req.sort_values("occurred_at"),
        left_on="start",
        right_on="occurred_at",
        by="pair",
    ).set_index("sid")["with_message"]
    sp["with_message"] = pd.array(wm.reindex(sp["sid"]).to_numpy(), dtype="boolean")

    sp = _add_contact_columns(sp, ev, contacts, window_days)
    sp["end_reason"] = pd.Categorical(sp["end_reason"], categories=list(END_REASONS))
    # the vocabulary's order: knows_personally is the reference level of models
    for col, cats in (("basis", BASES), ("introducer_basis", BASES), ("platform", PLATFORMS)):
        sp[col] = _with_categories(sp[col], list(cats))
    out = sp.take(_key_order(sp))[list(TIE_COLUMNS)].reset_index(drop=True)
    # plain values (an ISO string for the cut-off), so that the table writes to Parquet
    out.attrs.update(cutoff=as_utc(cutoff).isoformat(), window_days=int(window_days))
    return out


def _with_categories(values: pd.Series, cats: list[str]) -> pd.Categorical:
    """``pd.Categorical(values.astype("string"), categories=cats)``, without Python strings
    when the values are categorical already."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and all(isinstance(c, str) for c in dtype.categories):
        return values.array.set_categories(cats)
    return pd.Categorical(values.astype("string"), categories=cats)


def _key_order(sp: pd.DataFrame) -> np.ndarray:
    """The positions of ``sp`` by participant, contact, spell (unique keys): Arrow sorts the
    texts (UTF-8 bytes sort as the characters do)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        table = pa.table(
            {
                "p": pa.array(sp["participant"].to_numpy(dtype=object), pa.large_string()),
                "c": pa.array(sp["contact"].to_numpy(dtype=object), pa.large_string()),
                "s": pa.array(sp["spell"].to_numpy(dtype=np.int64)),
            }
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):  # not plain text
        by = ["participant", "contact", "spell"]
        return sp[by].reset_index(drop=True).sort_values(by).index.to_numpy()
    keys = [("p", "ascending"), ("c", "ascending"), ("s", "ascending")]
    return pc.sort_indices(table, sort_keys=keys).to_numpy()  # missing values last


def _followup(sp: pd.DataFrame, horizon: pd.Timestamp) -> pd.DataFrame:
    """The survival columns: follow-up from the tie's entry into observation (its start, or the
    observation start of a prevalent tie) to its end or the horizon, whichever is first; none
    for a tie that entered after the horizon, whose age is unknown, or that had ended by the
    time it entered (a prevalent tie removed before, or quiet from the start)."""
    entry_at = sp["first_anchor"]
    has = sp["age_known"].to_numpy(bool) & (entry_at <= horizon).to_numpy(bool)
    event = has & ~sp["alive_at_cutoff"].to_numpy(bool) & (sp["end"] <= horizon).to_numpy(bool)
    # a prevalent tie must be alive when it enters: ended at or before its entry, it never
    # was in the risk set (by the definition it ended before the log could see it)
    gone = sp["prevalent"].to_numpy(bool) & event & (sp["end"] <= entry_at).to_numpy(bool)
    has &= ~gone
    event &= ~gone
    sp["followup_end"] = sp["end"].where(event, horizon).where(has)
    sp["ended"] = event.astype(int)
    sp["duration_days"] = (sp["followup_end"] - sp["start"]) / DAY
    sp["entry_days"] = ((entry_at - sp["start"]) / DAY).where(has)
    return sp


def introductions_of(ev: pd.DataFrame) -> pd.DataFrame:
    """The first introduction per pair: introduced_at, introducer, introducer_connections."""
    intro = ev[ev["kind"] == "introduction"].sort_values("occurred_at")
    first = intro.groupby("pair").agg(
        introduced_at=("occurred_at", "first"),
        event_introducer=("introducer", "first"),
        introducer_connections=("introducer_connections", "first"),
    )
    return first


def _add_contact_columns(
    sp: pd.DataFrame, ev: pd.DataFrame, contacts: pd.DataFrame, window_days: float
) -> pd.DataFrame:
    c = contacts[["key", "participant", "platform", "basis", "introducer"]].rename(
        columns={"key": "contact"}
    )
    sp = sp.merge(c, on=["participant", "contact"], how="left")
    intro = introductions_of(ev)
    sp = sp.join(intro, on="pair")
    sp["introducer"] = sp["event_introducer"].fillna(sp["introducer"]).astype("string")
    conn = pd.to_numeric(sp["introducer_connections"], errors="coerce").astype("float64")
    sp["introducer_connections"] = conn
    sp["introducer_collector"] = (conn >= COLLECTOR_CONNECTIONS).to_numpy()
    ib = c[["participant", "contact", "basis"]].rename(
        columns={"contact": "introducer", "basis": "introducer_basis"}
    )
    sp = sp.merge(ib, on=["participant", "introducer"], how="left")
    sp["introducer_reliable"] = introducer_reliable(sp, ev, contacts, window_days)
    return sp


def introducer_reliable(
    rows: pd.DataFrame, ev: pd.DataFrame, contacts: pd.DataFrame, window_days: float
) -> pd.Series:
    """Was the introducer's own tie reliable when the introduction was made (or the tie began)?

    NA where there is no introducer. Reliability here is the window rule on the introducer's
    interactions and known vouch checks up to that moment.
    """
    has = rows["introducer"].notna()
    out = pd.Series(pd.NA, index=rows.index, dtype="boolean")
    if not has.any():
        return out
    sub = rows.loc[has, ["participant", "introducer"]].copy()
    sub["at"] = rows.loc[has, "introduced_at"].fillna(rows.loc[has, "start"])
    # only the events the rule looks at: interactions and known vouch checks
    kind = ev["kind"]
    used = (kind == "interaction") | ((kind == "vouch_check") & (ev["outcome"] == "known"))
    cols = ["participant", "contact", "kind", "occurred_at", "direction", "outcome"]
    e2 = ev.loc[used.fillna(False).to_numpy(dtype=bool), cols]
    pid_sub, pid_ev = _pair_ids((sub, "participant", "introducer"), (e2, "participant", "contact"))
    sub["pair"] = pid_sub
    e2["pair"] = pid_ev
    rel = reliable_at(
        sub, e2[e2["kind"] == "interaction"], _known(e2), at="at", window_days=window_days
    )
    out.loc[has] = rel["reliable"].to_numpy()
    return out


def alive_at_cutoff(t: pd.DataFrame) -> pd.Series:
    """Alive as known at the cut-off: the ``alive_at_cutoff`` column, else from ``end_reason``
    (``censored``: alive), else from ``ended`` (tables from before the survival columns)."""
    if "alive_at_cutoff" in t:
        return t["alive_at_cutoff"].astype(bool)
    if "end_reason" in t:
        reason = t["end_reason"].astype("string")
        return (reason.isna() | (reason == "censored")).astype(bool)
    return t["ended"] == 0


def _period_ends(freq: str | Sequence[Any], first: pd.Timestamp, cutoff: pd.Timestamp):
    if isinstance(freq, str):
        ends = pd.date_range(first.normalize(), cutoff, freq=freq, tz="UTC")
        return pd.DatetimeIndex([e for e in ends if e > first])
    return pd.DatetimeIndex([as_utc(t) for t in freq])


def reliability_timeline(
    events: pd.DataFrame,
    ties_table: pd.DataFrame,
    *,
    freq: str | Sequence[Any] = "MS",
    window_days: float | None = None,
    cutoff: Any = None,
) -> pd.DataFrame:
    """Alive and reliable ties per participant at each period end.

    ``freq`` is a pandas frequency (default ``"MS"``: each month's first instant, i.e. the end
    of the month before) or explicit period ends. Period ends run from the first tie's start to
    ``cutoff``; ``cutoff`` and ``window_days`` default to those the ties table was built with
    (kept in its ``attrs``), else the latest end or start in the table and 365. Alive at t: start <= t, and not
    ended by t (an ended tie is alive while t < end). Reliable at t: alive and an interaction in
    each direction within (t - W, t] of the same spell, or a known vouch check in that window.
    Returns participant, period_end, alive, reliable, share = reliable / alive, and ``known``:
    the period end lies at or before the outcome-known horizon (cut-off − W). After it, a tie
    that went quiet is not yet known to have ended and still counts as alive (and maybe
    reliable): rates per live tie should use known period ends only.
    """
    t = ties_table
    if window_days is None:
        window_days = t.attrs.get("window_days", 365)
    if cutoff is None:
        cutoff = t.attrs.get("cutoff", pd.concat([t["end"], t["start"]]).max())
    cutoff = as_utc(cutoff)
    rows = []
    for participant, first in t.groupby("participant", observed=True)["start"].min().items():
        ends = _period_ends(freq, first, cutoff)
        rows.append(pd.DataFrame({"participant": participant, "period_end": ends}))
    if not rows:
        return pd.DataFrame(
            columns=["participant", "period_end", "alive", "reliable", "share", "known"]
        )
    grid = pd.concat(rows, ignore_index=True)
    tt = t[["participant", "contact", "spell", "start", "end"]].copy()
    tt["until"] = tt["end"].where(~alive_at_cutoff(t), pd.Timestamp.max.tz_localize("UTC"))
    tt["tid"] = np.arange(len(tt))
    g = grid.merge(tt, on="participant")
    g = g[(g["start"] <= g["period_end"]) & (g["period_end"] < g["until"])]

    # interactions of each spell: by tie id (start <= time < the end of the tie)
    ev = _contact_events(events, cutoff)
    ev = ev[ev["kind"].isin(["interaction", "vouch_check"])]
    ev_pair, tt_pair = _pair_ids((ev, "participant", "contact"), (tt, "participant", "contact"))
    ev = ev.assign(pair=ev_pair)
    tt["pair"] = tt_pair
    em = ev[ev["kind"] == "interaction"].merge(tt[["pair", "tid", "start", "until"]], on="pair")
    em = em[(em["occurred_at"] >= em["start"]) & (em["occurred_at"] < em["until"])]
    known = _known(ev).merge(tt[["pair", "tid"]], on="pair")
    g = g.reset_index(drop=True)
    rel = reliable_at(
        g[["tid", "period_end"]].rename(columns={"tid": "pair"}),
        em[["tid", "occurred_at", "direction"]].rename(columns={"tid": "pair"}),
        known[["tid", "occurred_at"]].rename(columns={"tid": "pair"}),
        at="period_end",
        window_days=window_days,
    )
    g["reliable"] = rel["reliable"].to_numpy()
    out = (
        g.groupby(["participant", "period_end"])
        .agg(alive=("tid", "size"), reliable=("reliable", "sum"))
        .reset_index()
    )
    out = grid.merge(out, on=["participant", "period_end"], how="left").fillna(
        {"alive": 0, "reliable": 0}
    )
    out["alive"] = out["alive"].astype(int)
    out["reliable"] = out["reliable"].astype(int)
    out["share"] = out["reliable"] / out["alive"].where(out["alive"] > 0)
    out["known"] = out["period_end"] <= cutoff - pd.Timedelta(days=window_days)
    return out
