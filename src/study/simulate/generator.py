"""The generative model: one participant's contacts and events, drawn with numpy.

Time runs in days since the study's first day (midnight UTC). Each participant has its own
``numpy.random.Generator`` seeded from (seed, participant index), so a participant's log does
not depend on how many others are simulated with it, and the same seed gives the same log.

The model follows docs/definitions.md so that the analysis tables recover the truth: a tie
starts at ``request_accepted``; its lifetime T is Weibull with proportional hazards; at T it is
removed, hidden, or goes quiet with its final interaction exactly at T; while alive it
interacts at least every ``keepalive_days`` (< W = 365), so no living tie looks quiet.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from study.simulate.names import invented_names
from study.simulate.params import Params
from study.simulate.real_logs import archive_ties, removals_seen_at_exports
from study.vocabulary import FIRST_HAND_BASES, LEAD_PROGRESS

#: Event fields the generator fills (the columns of its frames beside the fixed ones).
FIELD_COLUMNS = (
    "contact",
    "with_message",
    "direction",
    "channel",
    "introducer",
    "introducer_connections",
    "outcome",
    "name",
    "value",
    "period_start",
    "period_end",
    "section",
    "completeness",
    "type",
    "topic",
    "lead",
    "stage",
    "text",
)
#: Fields given as float columns (NaN: not given), so the bulk writer need not parse them.
NUMERIC_COLUMNS = ("value", "completeness", "introducer_connections")
MONTH_DAYS = 365.25 / 12
#: The last moment of the end day an event may take (20:00 UTC: still that day in Berlin).
END_MARGIN = 4 / 24
TOPICS = (
    "Netzwerken mit Substanz",
    "Personal branding",
    "Projektmanagement",
    "Remote work",
    "Data literacy",
    "Nachhaltigkeit im Netz",
)
NOTES_PRUNED = "Pruned: neither side remembered where we know each other from"
NOTES_MEETING = "Met for coffee; follow up in the spring"


@dataclass(frozen=True)
class Window:
    """The study period: whole months ending on ``end`` (inclusive)."""

    start: dt.date
    end: dt.date
    months: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def tmax(self) -> float:
        return self.days - END_MARGIN

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.start, tz="UTC")

    def month_starts(self) -> np.ndarray:
        """Day offsets of each month's first day, plus the day after the end."""
        out = []
        y, m = self.start.year, self.start.month
        for _ in range(self.months):
            out.append((dt.date(y, m, 1) - self.start).days)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(self.days)
        return np.asarray(out, dtype=float)

    def date_at(self, day: float) -> dt.date:
        return self.start + dt.timedelta(days=int(math.floor(day)))


def last_complete_month_end(today: dt.date | None = None) -> dt.date:
    """The last day of the last complete month before ``today`` (2026-11-21 -> 2026-10-31)."""
    today = today or dt.date.today()
    return today.replace(day=1) - dt.timedelta(days=1)


def make_window(months: int, end: dt.date | None = None) -> Window:
    from study.errors import ValidationError

    if months < 1:
        raise ValidationError(f"{months} is not a number of months (1 or more)", "months")
    end = end or last_complete_month_end()
    if end > dt.date.today():
        raise ValidationError(f"{end} lies in the future", "end")
    y, m = end.year, end.month - months + 1
    while m < 1:
        y, m = y - 1, m + 12
    return Window(dt.date(y, m, 1), end, months)


class EventBuffer:
    """Events collected as column arrays, block by block, turned into one frame at the end."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, np.ndarray, dict[str, Any]]] = []

    def add(self, kind: str, t: Any, platform: Any, **cols: Any) -> None:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if t.size == 0:
            return
        cols["platform"] = platform
        self.blocks.append((kind, t, cols))

    def frame(self, pid: str, win: Window, key_prefix: str) -> pd.DataFrame:
        n = sum(b[1].size for b in self.blocks)
        t = np.empty(n)
        kind = np.empty(n, dtype=object)
        columns = {c: np.full(n, None, dtype=object) for c in ("platform", *FIELD_COLUMNS)}
        i = 0
        for k, times, cols in self.blocks:
            j = i + times.size
            t[i:j] = times
            kind[i:j] = k
            for c, v in cols.items():
                columns[c][i:j] = v if np.ndim(v) == 0 else np.asarray(v, dtype=object)
            i = j
        order = np.argsort(t, kind="stable")
        seconds = np.round(t[order] * 86400).astype("int64")
        df = pd.DataFrame(
            {
                "kind": kind[order],
                "occurred_at": win.start_ts + pd.to_timedelta(seconds, unit="s"),
                "participant": pid,
                "platform": columns.pop("platform")[order],
                "source_key": [f"{key_prefix}-e{k:06d}" for k in range(n)],
                **{c: v[order] for c, v in columns.items()},
            }
        )
        for c in NUMERIC_COLUMNS:
            df[c] = df[c].astype("float64")
        return df


@dataclass
class ParticipantData:
    """One simulated participant: contacts (with invented names), events, drawn effects."""

    pid: str
    contacts: pd.DataFrame
    events: pd.DataFrame
    effects: dict[str, Any] = field(default_factory=dict)


def _month_mass(win: Window, front_load: float) -> tuple[np.ndarray, np.ndarray]:
    starts = win.month_starts()
    lengths = np.diff(starts)
    months = np.arange(win.months)
    return starts, lengths / MONTH_DAYS * (1 + front_load * np.exp(-months / 4))


def _times_in_months(rng: np.random.Generator, n: int, starts: np.ndarray, mass: np.ndarray):
    if n == 0:
        return np.empty(0)
    m = rng.choice(mass.size, size=n, p=mass / mass.sum())
    return starts[m] + rng.random(n) * (starts[m + 1] - starts[m])


def _choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    names = np.array(list(weights), dtype=object)
    w = np.array(list(weights.values()), dtype=float)
    return names[rng.choice(names.size, size=n, p=w / w.sum())]


def simulate_participant(
    params: Params, seed: int, index: int, pid: str, win: Window
) -> ParticipantData:
    """Draw one participant's study (see the module docstring and docs/simulation.md)."""
    rng = np.random.default_rng([seed, index])
    p = params
    tmax = win.tmax
    buf = EventBuffer()
    starts, mass = _month_mass(win, p.arrivals.front_load)

    # participant-level random effects ------------------------------------------------------
    eff = {
        "tie_log_frailty": float(rng.normal(0, p.ties.frailty_sd)),
        "arrival_log_rate": float(rng.normal(0, p.arrivals.participant_sd)),
        "views_log_level": float(rng.normal(0, p.views.participant_sd)),
        "lead_log_rate": float(rng.normal(0, p.leads.participant_sd)),
    }
    iv_month = min(p.views.intervention_month, win.months) - 1
    iv_day = float(starts[iv_month] + rng.integers(0, int(starts[iv_month + 1] - starts[iv_month])))
    eff["intervention_date"] = win.date_at(iv_day).isoformat()
    arrival = math.exp(eff["arrival_log_rate"])

    # contacts reached directly (bases a, b and none) ---------------------------------------
    basis_l, t_l = [], []
    for basis, rate in p.arrivals.rate_per_month.items():
        n = rng.poisson(rate * arrival * mass.sum())
        t_l.append(_times_in_months(rng, n, starts, mass))
        basis_l.append(np.full(n, basis, dtype=object))
    t_req = np.concatenate(t_l)
    basis = np.concatenate(basis_l)
    order = np.argsort(t_req, kind="stable")
    t_req, basis = np.minimum(t_req[order], tmax), basis[order]
    n_direct = t_req.size
    platform = np.where(rng.random(n_direct) < p.arrivals.share_xing, "xing", "linkedin").astype(
        object
    )
    t_first = t_req.copy()

    # acceptance and tie lifetimes of the direct contacts ------------------------------------
    def requests(basis: np.ndarray, t_req: np.ndarray, platform: np.ndarray) -> dict[str, Any]:
        n = basis.size
        p_sent = np.array([p.arrivals.p_sent[b] for b in basis])
        sent = rng.random(n) < p_sent
        msg = rng.random(n) < np.where(
            sent, p.arrivals.p_message_sent, p.arrivals.p_message_received
        )
        stranger = basis == "none"
        a = p.acceptance
        p_acc = np.where(
            stranger,
            np.where(msg, a.stranger_with_message, a.stranger_without_message),
            np.where(msg, a.known_with_message, a.known_without_message),
        )
        accepted = rng.random(n) < p_acc
        t_resp = t_req + rng.exponential(a.response_days, n)
        declined = rng.random(n) < a.p_declined
        t_resp = np.where(~accepted & ~declined, t_req + 5 * (t_resp - t_req) + 14, t_resp)
        answered = t_resp < tmax
        # tie lifetime: Weibull with proportional hazards
        t = p.ties
        eta = (
            np.array([0.0 if b == "knows_personally" else math.log(t.hr_basis[b]) for b in basis])
            + np.where(platform == "linkedin", math.log(t.hr_linkedin), 0.0)
            + np.where(msg, math.log(t.hr_with_message), 0.0)
            + eff["tie_log_frailty"]
        )
        life = t.weibull_scale_days * (rng.exponential(1.0, n) * np.exp(-eta)) ** (
            1 / t.weibull_shape
        )
        u = rng.random(n)
        p_rem = np.array([t.p_removed[b] for b in basis])
        reason = np.where(
            u < p_rem, "removed", np.where(u < p_rem + (1 - p_rem) * t.p_hidden, "hidden", "quiet")
        ).astype(object)
        return {
            "sent": sent,
            "msg": msg,
            "accepted": accepted & answered,
            "declined": ~accepted & declined & answered,
            "withdrawn": ~accepted & ~declined & answered,
            "t_resp": t_resp,
            "life": life,
            "reason": reason,
        }

    direct = requests(basis, t_req, platform)

    # introductions: second-degree contacts through a live tie -------------------------------
    n_intro = rng.poisson(p.arrivals.introduced_per_month * arrival * mass.sum())
    t_intro = np.minimum(np.sort(_times_in_months(rng, n_intro, starts, mass)), tmax)
    tie_start = np.where(direct["accepted"], direct["t_resp"], np.inf)
    tie_end = tie_start + direct["life"]
    introducer, keep = [], []
    for i, ti in enumerate(t_intro):
        live = np.flatnonzero((tie_start <= ti) & (tie_end > ti))
        if live.size:
            introducer.append(int(rng.choice(live)))
            keep.append(i)
    t_intro = t_intro[keep]
    introducer_idx = np.asarray(introducer, dtype=int)
    n_in = t_intro.size
    intro_first_hand = np.array([basis[i] in FIRST_HAND_BASES for i in introducer_idx], dtype=bool)
    ip = p.introductions
    collector = rng.random(n_in) < np.where(
        intro_first_hand, ip.p_collector_first_hand, ip.p_collector_none
    )
    connections = np.where(
        collector,
        np.maximum(500, np.round(ip.collector_connections * np.exp(rng.normal(0, 0.4, n_in)))),
        np.minimum(499, np.round(ip.other_connections * np.exp(rng.normal(0, 0.6, n_in)))),
    )
    itype = np.where(collector, "collector", np.where(intro_first_hand, "first_hand", "none"))
    vouched = rng.random(n_in) < ip.p_vouch_check
    t_vouch = t_intro + rng.uniform(0.2, 3.0, n_in)
    vouched &= t_vouch < tmax
    known = rng.random(n_in) < np.array([ip.p_known[k] for k in itype])
    # the request follows 1-7 days later, but never after the study's end (a study that ends
    # today must not hold events of the next days)
    t_ireq = np.minimum(t_intro + rng.uniform(1.0, 7.0, n_in), tmax)
    i_ok = t_ireq < tmax
    i_platform = platform[introducer_idx] if n_in else np.empty(0, dtype=object)
    i_basis = np.full(n_in, "introduced", dtype=object)
    intro = requests(i_basis, t_ireq, i_platform)
    for k in ("accepted", "declined", "withdrawn"):
        intro[k] &= i_ok

    # all contacts, in the order they are added ----------------------------------------------
    n_all = n_direct + n_in
    width = max(5, len(str(n_all)))
    keys = np.array([f"{pid}-c{j:0{width}d}" for j in range(n_all)], dtype=object)
    basis_all = np.concatenate([basis, i_basis])
    platform_all = np.concatenate([platform, i_platform])
    t_req_all = np.concatenate([t_req, t_ireq])
    first_all = np.concatenate([t_first, t_intro])
    R = {k: np.concatenate([direct[k], intro[k]]) for k in direct}
    intro_keys = keys[introducer_idx] if n_in else np.empty(0, dtype=object)
    contacts = pd.DataFrame(
        {
            "key": keys,
            "participant": pid,
            "platform": platform_all,
            "basis": basis_all,
            "introducer": np.concatenate([np.full(n_direct, None, dtype=object), intro_keys]),
            "first_seen": win.start_ts
            + pd.to_timedelta(np.round(first_all * 86400).astype("int64"), unit="s"),
            "name": invented_names(rng, n_all),
        }
    )

    # requests and answers ---------------------------------------------------------------------
    direction = np.where(R["sent"], "out", "in").astype(object)
    sent, recv = R["sent"], ~R["sent"]
    buf.add(
        "request_sent",
        t_req_all[sent],
        platform_all[sent],
        contact=keys[sent],
        with_message=R["msg"][sent],
    )
    buf.add(
        "request_received",
        t_req_all[recv],
        platform_all[recv],
        contact=keys[recv],
        with_message=R["msg"][recv],
    )
    for kind, mask in (
        ("request_accepted", R["accepted"]),
        ("request_declined", R["declined"]),
        ("request_withdrawn", R["withdrawn"]),
    ):
        buf.add(
            kind,
            R["t_resp"][mask],
            platform_all[mask],
            contact=keys[mask],
            direction=direction[mask],
        )

    # introductions and vouch checks ------------------------------------------------------------
    c_in = keys[n_direct:]
    buf.add(
        "introduction",
        t_intro,
        i_platform,
        contact=c_in,
        introducer=intro_keys,
        introducer_connections=connections,
    )
    buf.add(
        "vouch_check",
        t_vouch[vouched],
        i_platform[vouched],
        contact=c_in[vouched],
        introducer=intro_keys[vouched],
        outcome=np.where(known[vouched], "known", "unknown").astype(object),
    )

    # ties: ends, interactions, follows -------------------------------------------------------
    ties = np.flatnonzero(R["accepted"])
    s = R["t_resp"][ties]
    end = s + R["life"][ties]
    reason = R["reason"][ties]
    t_keys, t_plat, t_basis = keys[ties], platform_all[ties], basis_all[ties]
    # scenario draws come from a stream of their own: the default study stays the same log
    xrng = np.random.default_rng([seed, index, 15])
    if p.archive.connections:
        arch = archive_ties(buf, xrng, p, eff, pid, n_all, width, win)
        contacts = pd.concat(
            [contacts.assign(first_seen_estimated=False), arch.contacts], ignore_index=True
        )
        ties = np.concatenate([ties, np.full(arch.s.size, -1)])  # -1: no introduction
        s, end = np.concatenate([s, arch.s]), np.concatenate([end, arch.end])
        reason = np.concatenate([reason, arch.reason])
        t_keys = np.concatenate([t_keys, arch.keys])
        t_plat = np.concatenate([t_plat, arch.platform])
        t_basis = np.concatenate([t_basis, arch.basis])
    ended = end < tmax
    stop = np.minimum(end, tmax)
    for kind, why in (("contact_removed", "removed"), ("contact_hidden", "hidden")):
        m = ended & (reason == why)
        buf.add(kind, end[m], t_plat[m], contact=t_keys[m])
    pruned = ended & (reason == "removed") & (rng.random(ties.size) < 0.5)
    buf.add("note", end[pruned], t_plat[pruned], contact=t_keys[pruned], text=NOTES_PRUNED)

    rate = np.array([p.interactions.rate_per_year[b] for b in t_basis]) / 365.25
    quiet = ended & (reason == "quiet")
    # a quiet tie's interactions stop at T, or (scenario c) some days before it
    talk_stop = stop.copy()
    if p.ties.quiet_lag_days > 0:
        lag = xrng.exponential(p.ties.quiet_lag_days, s.size)
        talk_stop = np.where(quiet, np.maximum(end - lag, s), stop)
    n_int = rng.poisson(rate * (talk_stop - s))
    tie_of = np.repeat(np.arange(ties.size), n_int)
    t_int = s[tie_of] + rng.random(tie_of.size) * (talk_stop - s)[tie_of]
    # the final interaction of a quiet tie lies exactly at T (scenario c: where they stop)
    last = quiet & (talk_stop > s)
    tie_of = np.concatenate([tie_of, np.flatnonzero(last)])
    t_int = np.concatenate([t_int, talk_stop[last]])
    if p.interactions.keepalive_days > 0:
        tie_of, t_int = _keepalive(tie_of, t_int, s, talk_stop, p.interactions.keepalive_days)
    n_i = t_int.size
    i_dir = np.where(rng.random(n_i) < p.interactions.p_out, "out", "in").astype(object)
    i_chan = _choice(rng, p.interactions.channel_weights, n_i)
    buf.add(
        "interaction",
        t_int,
        t_plat[tie_of],
        contact=t_keys[tie_of],
        channel=i_chan,
        direction=i_dir,
    )
    meet = np.flatnonzero((i_chan == "meeting") & (rng.random(n_i) < 0.1))
    buf.add(
        "note",
        t_int[meet] + 1e-3,
        t_plat[tie_of[meet]],
        contact=t_keys[tie_of[meet]],
        text=NOTES_MEETING,
    )

    fp = p.following
    t_follow = s + rng.exponential(30.0, ties.size)
    follows = (rng.random(ties.size) < fp.p_follow) & (t_follow < stop)
    f_dir = np.where(rng.random(ties.size) < 0.5, "out", "in").astype(object)
    buf.add(
        "contact_followed",
        t_follow[follows],
        t_plat[follows],
        contact=t_keys[follows],
        direction=f_dir[follows],
    )
    t_unf = t_follow + rng.random(ties.size) * (stop - t_follow)
    unf = follows & (rng.random(ties.size) < fp.p_unfollow)
    buf.add(
        "contact_unfollowed", t_unf[unf], t_plat[unf], contact=t_keys[unf], direction=f_dir[unf]
    )

    # job leads ------------------------------------------------------------------------------
    reliable = _reliable_at(
        starts[1:], s, end, tie_of, t_int, i_dir, R, ties, n_direct, t_vouch, vouched, known
    )
    eff["live_reliable_ties"] = reliable.sum(axis=0).astype(int).tolist()
    # the same by basis and platform: the truth of the leads' sources (a lead through a contact
    # comes through one of the reliable ties at the end of the month before)
    eff["live_reliable_ties_by_basis"] = {
        b: reliable[t_basis == b].sum(axis=0).astype(int).tolist() for b in np.unique(t_basis)
    }
    eff["live_reliable_ties_by_platform"] = {
        q: reliable[t_plat == q].sum(axis=0).astype(int).tolist() for q in np.unique(t_plat)
    }
    _leads(buf, rng, p, pid, eff, starts, reliable, s, end, t_keys, t_plat, tmax)

    # the participant's own activity, profile, metrics -----------------------------------------
    act_t, act_type, act_plat = _activity(buf, rng, p, win, tmax)
    _profile_and_metrics(
        buf, rng, p, win, eff, iv_day, starts, act_t, act_type, act_plat, s, end, reason, t_plat
    )

    events = buf.frame(pid, win, pid)
    if p.ties.removal_seen_every_days > 0:
        events = removals_seen_at_exports(events, win, p.ties.removal_seen_every_days)
    return ParticipantData(pid, contacts, events, eff)


def _keepalive(
    tie_of: np.ndarray, t: np.ndarray, s: np.ndarray, stop: np.ndarray, gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """Add interactions so that no stretch of a living tie is longer than ``gap`` days."""
    n = s.size
    if n == 0:
        return tie_of, t
    # anchors: the start (not an interaction) and the stop (not an interaction either)
    all_tie = np.concatenate([tie_of, np.arange(n), np.arange(n)])
    all_t = np.concatenate([t, s, stop])
    order = np.lexsort((all_t, all_tie))
    all_tie, all_t = all_tie[order], all_t[order]
    same = all_tie[1:] == all_tie[:-1]
    gaps = np.diff(all_t)
    need = same & (gaps > gap)
    idx = np.flatnonzero(need)
    if idx.size == 0:
        return tie_of, t
    k = np.ceil(gaps[idx] / gap).astype(int) - 1  # points to insert in each long gap
    rep = np.repeat(idx, k)
    j = np.concatenate([np.arange(1, kk + 1) for kk in k])
    extra_t = all_t[rep] + gaps[rep] * j / np.repeat(k + 1, k)
    return np.concatenate([tie_of, all_tie[rep]]), np.concatenate([t, extra_t])


def _reliable_at(
    month_ends: np.ndarray,
    s: np.ndarray,
    end: np.ndarray,
    tie_of: np.ndarray,
    t_int: np.ndarray,
    i_dir: np.ndarray,
    R: dict[str, np.ndarray],
    ties: np.ndarray,
    n_direct: int,
    t_vouch: np.ndarray,
    vouched: np.ndarray,
    known: np.ndarray,
    window: float = 365.0,
) -> np.ndarray:
    """A (ties x months) boolean array: reliable at each month's end (docs/definitions.md)."""
    n = s.size
    te = month_ends[None, :]
    alive = (s[:, None] <= te) & (end[:, None] > te)
    span = float(max(month_ends.max(), 1.0)) + 2 * window + 10
    ok = {}
    for d in ("in", "out"):
        m = i_dir == d
        key = np.sort(tie_of[m] * span + t_int[m])
        base = np.arange(n)[:, None] * span
        hi = np.searchsorted(key, base + te, side="right")
        lo = np.searchsorted(key, base + te - window, side="right")
        ok[d] = hi > lo
    # a known vouch check within the window also makes an introduced tie reliable
    vouch_ok = np.zeros((n, month_ends.size), dtype=bool)
    intro_pos = ties - n_direct
    has = intro_pos >= 0
    if has.any():
        pos = intro_pos[has]
        good = vouched[pos] & known[pos]
        tv = np.where(good, t_vouch[pos], np.inf)[:, None]
        vouch_ok[has] = (tv <= te) & (tv > te - window)
    return alive & ((ok["in"] & ok["out"]) | vouch_ok)


def _leads(buf, rng, p, pid, eff, starts, reliable, s, end, t_keys, t_plat, tmax) -> None:
    lp = p.leads
    mult = math.exp(eff["lead_log_rate"])
    n_lead = 0
    stage_names = LEAD_PROGRESS
    for m in range(starts.size - 1):
        lo, hi = starts[m], min(starts[m + 1], tmax)
        frac = (starts[m + 1] - starts[m]) / MONTH_DAYS
        rel = np.flatnonzero(reliable[:, m - 1]) if m > 0 else np.empty(0, dtype=int)
        n_tie = rng.poisson(lp.rate_per_reliable_tie * rel.size * mult * frac)
        n_other = rng.poisson(lp.rate_other * mult * frac)
        items = []
        for _ in range(n_tie):
            j = int(rng.choice(rel))
            t0 = lo + rng.random() * (min(hi, end[j]) - lo)
            items.append((t0, j, str(_choice(rng, lp.channels_contact, 1)[0])))
        for _ in range(n_other):
            items.append(
                (lo + rng.random() * (hi - lo), -1, str(_choice(rng, lp.channels_other, 1)[0]))
            )
        for t0, j, channel in sorted(items):
            n_lead += 1
            lead = f"{pid}-L{n_lead:03d}"
            plat = t_plat[j] if j >= 0 else ("xing" if rng.random() < 0.5 else "linkedin")
            buf.add(
                "job_lead",
                t0,
                plat,
                lead=lead,
                stage="lead",
                channel=channel,
                contact=t_keys[j] if j >= 0 else None,
            )
            t = t0
            for stage, nxt in zip(stage_names[:-1], stage_names[1:], strict=True):
                t += rng.exponential(lp.stage_days) + 0.01
                if t >= tmax:
                    break
                if rng.random() < lp.p_advance[stage]:
                    buf.add("job_lead", t, plat, lead=lead, stage=nxt)
                else:
                    close = "withdrawn" if rng.random() < lp.p_withdrawn else "rejected"
                    buf.add("job_lead", t, plat, lead=lead, stage=close)
                    break


def _activity(buf, rng, p, win, tmax):
    types, times = [], []
    for kind, rate in p.activity.rate_per_month.items():
        n = rng.poisson(rate * win.days / MONTH_DAYS)
        times.append(rng.random(n) * tmax)
        types.append(np.full(n, kind, dtype=object))
    t = np.concatenate(times)
    ty = np.concatenate(types)
    plat = np.where(rng.random(t.size) < p.activity.share_xing, "xing", "linkedin").astype(object)
    topic = np.array(TOPICS, dtype=object)[rng.integers(0, len(TOPICS), t.size)]
    buf.add("activity", t, plat, type=ty, topic=topic)
    return t, ty, plat


def _nb(rng, mu: np.ndarray, dispersion: float) -> np.ndarray:
    """Negative binomial counts with mean mu and variance mu + dispersion * mu^2."""
    if dispersion > 0:
        mu = mu * rng.gamma(1 / dispersion, dispersion, mu.shape)
    return rng.poisson(mu)


def view_rate(p: Params, win: Window, platform: str, level: float, iv_day: float, days: np.ndarray):
    """Expected profile views per day on day offsets ``days`` (the model of the truth)."""
    v = p.views
    base = v.base_per_week_xing if platform == "xing" else v.base_per_week_linkedin
    years = days / 365.25
    ordinal0 = win.start.toordinal()
    doy = np.array([dt.date.fromordinal(ordinal0 + int(d)).timetuple().tm_yday for d in days[:, 0]])
    doy = doy[:, None] + (days - days[:, :1])
    post = days >= math.floor(iv_day)
    log_mu = (
        math.log(base / 7)
        + level
        + v.trend_per_year * years
        + v.season_amplitude * np.cos(2 * np.pi * (doy - v.season_peak_day) / 365.25)
        + post
        * (math.log(v.level_rr) + v.slope_change_per_year * (days - math.floor(iv_day)) / 365.25)
    )
    return np.exp(log_mu)


def _monthly_views(buf, rng, p, win, plat, eff, iv_day, starts) -> None:
    """Profile views entered per calendar month: daily rates, one negative-binomial frailty per
    Monday..Sunday block as in the weekly counts, summed over each month's days."""
    v = p.views
    n_days = int(starts[-1])
    day = np.arange(n_days, dtype=float)[:, None]
    rate = view_rate(p, win, plat, eff["views_log_level"], iv_day, day)[:, 0]
    block = (day[:, 0] + win.start.weekday()) // 7
    frailty = (
        rng.gamma(1 / v.dispersion, v.dispersion, int(block.max()) + 1)
        if v.dispersion > 0
        else np.ones(int(block.max()) + 1)
    )
    counts = rng.poisson(rate * frailty[block.astype(int)])
    edges = starts.astype(int)
    values = np.add.reduceat(counts, edges[:-1]).astype(float)
    p_start = [(win.start + dt.timedelta(days=int(d))).isoformat() for d in edges[:-1]]
    p_end = [(win.start + dt.timedelta(days=int(d) - 1)).isoformat() for d in edges[1:]]
    buf.add(
        "metric",
        np.minimum(edges[1:] - END_MARGIN - 0.1, win.tmax),
        plat,
        value=values,
        name="profile_views",
        period_start=np.array(p_start, dtype=object),
        period_end=np.array(p_end, dtype=object),
    )


def _profile_and_metrics(
    buf, rng, p, win, eff, iv_day, starts, act_t, act_type, act_plat, s, end, reason, t_plat
):
    v = p.views
    day0 = math.floor(iv_day)
    for plat in ("xing", "linkedin"):
        buf.add(
            "profile_updated",
            [0.3, 0.31],
            plat,
            section=np.array(["headline", "experience"], dtype=object),
            completeness=np.array([30.0, 45.0]),
        )
        secs = np.array(["photo", "about", "skills", "other"], dtype=object)
        buf.add(
            "profile_updated",
            day0 + 0.33 + np.arange(4) / 48,
            plat,
            section=secs,
            completeness=np.array([60.0, 80.0, 90.0, 100.0]),
        )
    # weekly counts over Monday..Sunday periods
    first_monday = (7 - win.start.weekday()) % 7
    mondays = np.arange(first_monday, win.days - 6, 7, dtype=float)
    days = mondays[:, None] + np.arange(7)[None, :]
    p_start = [(win.start + dt.timedelta(days=int(d))).isoformat() for d in mondays]
    p_end = [(win.start + dt.timedelta(days=int(d) + 6)).isoformat() for d in mondays]
    t_week = mondays + 6.75
    posts = np.isin(act_type, ("group_post", "article"))
    for plat in ("xing", "linkedin"):
        mu = view_rate(p, win, plat, eff["views_log_level"], iv_day, days).sum(axis=1)
        common = dict(
            name="profile_views",
            period_start=np.array(p_start, dtype=object),
            period_end=np.array(p_end, dtype=object),
        )
        views = _nb(rng, mu, v.dispersion).astype(float)
        if v.entry == "month":
            _monthly_views(buf, rng, p, win, plat, eff, iv_day, starts)
        elif v.p_missing > 0:
            kept = rng.random(views.size) >= v.p_missing
            entered = {k: np.asarray(x)[kept] for k, x in common.items() if k != "name"}
            buf.add(
                "metric", t_week[kept], plat, value=views[kept], name="profile_views", **entered
            )
        else:
            buf.add("metric", t_week, plat, value=views, **common)
        common["name"] = "search_appearances"
        buf.add(
            "metric",
            t_week,
            plat,
            value=_nb(rng, mu * v.search_per_view, v.dispersion).astype(float),
            **common,
        )
        mine = posts & (act_plat == plat)
        n_posts = np.histogram(
            act_t[mine], bins=np.append(mondays, mondays[-1] + 7) if mondays.size else [0, 1]
        )[0][: mondays.size]
        mu_imp = v.impressions_base + v.impressions_per_post * n_posts
        common["name"] = "post_impressions"
        buf.add(
            "metric",
            t_week,
            plat,
            value=_nb(rng, mu_imp.astype(float), v.dispersion).astype(float),
            **common,
        )
    # monthly levels: connections, followers, own-name search rank
    month_ends = starts[1:] - END_MARGIN - 0.05
    rp = p.reputation
    removed_at = np.where(reason == "removed", end, np.inf)
    for plat in ("xing", "linkedin"):
        mine = t_plat == plat
        conn = ((s[mine][:, None] <= month_ends) & (removed_at[mine][:, None] > month_ends)).sum(
            axis=0
        )
        buf.add("metric", month_ends, plat, name="connections", value=conn.astype(float))
        acts = np.histogram(act_t[act_plat == plat], bins=starts)[0]
        gain = rng.poisson(rp.followers_per_month + rp.followers_per_activity * acts)
        buf.add(
            "metric",
            month_ends,
            plat,
            name="followers",
            value=(rng.poisson(5) + np.cumsum(gain)).astype(float),
        )
    cum = np.cumsum(np.histogram(act_t, bins=starts)[0])
    rank = np.maximum(
        1,
        np.round(
            rp.rank_start * np.exp(-rp.rank_decay_per_activity * cum + rng.normal(0, 0.1, cum.size))
        ),
    )
    buf.add("metric", month_ends, "other", name="googlability_rank", value=rank.astype(float))
