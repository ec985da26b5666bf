"""A study simulator with known ground truth: demo data, estimator tests, power analysis.

``run(params, seed, db)`` draws a panel of participants building their networks over months
and writes exactly the events the log holds, through the same validated write path as every
import (``Study.batch()`` and ``Batch.log_frame``), with ``source="simulate"`` and
deterministic source keys: the same seed gives an identical log, and a re-run adds nothing.
The truth of every effect is stored with the study (see :mod:`study.simulate.truth`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sys
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from study.errors import StudyError
from study.simulate.generator import Window, make_window, simulate_participant
from study.simulate.params import Params
from study.simulate.truth import build_truth, read_truth, store_truth, truth, write_truth_file

SOURCE = "simulate"
#: Events per write transaction (participants are grouped until they reach it).
BATCH_EVENTS = 100_000
#: Panels from this many participants are drawn in worker processes, beside the writing.
PARALLEL_FROM = 20
#: At most this many worker processes draw (the writing process needs a core of its own).
PARALLEL_WORKERS = 3
#: Participants drawn ahead of the writing, at most.
AHEAD = 64


@dataclass
class SimulationResult:
    """What a run wrote, and how long it took."""

    db: str
    seed: int
    participants: list[str]
    contacts: int = 0
    events_added: int = 0
    events_present: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    generate_seconds: float = 0.0
    write_seconds: float = 0.0
    truth_path: Path | None = None
    truth: dict[str, Any] = field(default_factory=dict)


def participant_ids(n: int) -> list[str]:
    """``me`` for one participant, else p001, p002, ..."""
    if n < 1:
        from study.errors import ValidationError

        raise ValidationError(f"{n} is not a number of participants (1 or more)", "participants")
    if n == 1:
        return ["me"]
    width = max(3, len(str(n)))
    return [f"p{i:0{width}d}" for i in range(1, n + 1)]


def run(
    params: Params | None = None,
    seed: int = 0,
    db: Any = None,
    *,
    participants: int | None = None,
    months: int | None = None,
    end: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate a study into ``db`` (a path, URL or Study; created if needed).

    Defaults: one participant (``me``), 24 months ending with the last complete month.
    Refuses a database that holds events not made by the simulator, or a simulation with
    other settings; the same settings again add nothing.
    """
    from sqlalchemy import func, select

    from study import store
    from study.api import Study

    t0 = time.perf_counter()
    params = params or Params()
    pids = participant_ids(participants or 1)
    win = make_window(months or 24, end)
    own = not isinstance(db, Study)
    s = Study(db, create=True) if own else db
    try:
        e = store.events.c
        with s._read() as conn:
            foreign = conn.execute(
                select(func.count()).select_from(store.events).where(e.source != SOURCE)
            ).scalar()
            old = read_truth(conn)
        if foreign:
            raise StudyError(
                f"{s.name} already holds {foreign} events that were not simulated; "
                "simulate into a fresh database (--db)"
            )
        result = SimulationResult(db=s.name, seed=seed, participants=pids)
        datas = []
        pending = 0
        effects: dict[str, dict[str, Any]] = {}
        config = _config(params, seed, pids, win)
        if old is not None and _config_of(old) != config:
            raise StudyError(
                f"{s.name} already holds a simulated study with other settings "
                f"(seed {old.get('seed')}, {len(old.get('participants', []))} participants, "
                f"{old.get('months')} months to {old.get('end')}); use a fresh database"
            )
        # the truth goes in with every batch (the participants drawn so far), so a run that was
        # killed can be resumed: the same settings again add only what is missing.
        for i, (pid, data, seconds) in enumerate(_participants(params, seed, pids, win)):
            result.generate_seconds += seconds
            effects[pid] = data.effects
            datas.append(data)
            pending += len(data.events)
            last = i == len(pids) - 1
            if pending >= BATCH_EVENTS or last:
                w0 = time.perf_counter()
                doc = build_truth(params, seed, pids, win, effects)
                _write(s, datas, result, doc)
                result.write_seconds += time.perf_counter() - w0
                datas, pending = [], 0
                if progress:
                    progress(i + 1, len(pids))
        result.truth = truth(s)
        result.truth_path = write_truth_file(result.truth, s.url)
    finally:
        if own:
            s.close()
    result.seconds = time.perf_counter() - t0
    return result


def _draw(params: Params, seed: int, i: int, pid: str, win: Window) -> tuple[Any, float]:
    """One participant's draw and its seconds (run in a worker process for panels)."""
    t0 = time.perf_counter()
    data = simulate_participant(params, seed, i, pid, win)
    return data, time.perf_counter() - t0


def _participants(
    params: Params, seed: int, pids: list[str], win: Window
) -> Iterator[tuple[str, Any, float]]:
    """The participants' draws in order: (id, data, seconds of drawing).

    A panel is drawn in worker processes while this process writes the earlier participants
    (drawing is NumPy, writing is SQLite and pandas: on two cores they overlap). A participant's
    draw depends only on (seed, index), so the log is the same either way. At most
    ``AHEAD`` participants wait in memory.
    """
    import multiprocessing

    workers = min(PARALLEL_WORKERS, (os.cpu_count() or 1) - 1)
    forking = sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
    if len(pids) < PARALLEL_FROM or workers < 1 or not forking:
        for i, pid in enumerate(pids):
            data, seconds = _draw(params, seed, i, pid, win)
            yield pid, data, seconds
        return
    from concurrent.futures import ProcessPoolExecutor

    # fork, not spawn or forkserver: those import the caller's __main__ again, which breaks a
    # script without a main guard. The workers only draw with NumPy and pandas and return
    # frames; they never touch the database connection this process holds, and they end
    # with os._exit (multiprocessing's workers), so nothing of it is closed behind its back.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque[Any] = deque()
        ahead = iter(enumerate(pids))
        with warnings.catch_warnings():
            # the first submit forks the workers; Python 3.12+ warns that forking a process
            # with threads (a notebook kernel) may deadlock a child that takes a lock another
            # thread held: the draw takes none
            warnings.filterwarnings("ignore", ".* is multi-threaded", DeprecationWarning)
            for i, pid in itertools.islice(ahead, AHEAD):
                pending.append((pid, pool.submit(_draw, params, seed, i, pid, win)))
        while pending:
            pid, future = pending.popleft()
            data, seconds = future.result()
            for i, nxt in itertools.islice(ahead, 1):
                pending.append((nxt, pool.submit(_draw, params, seed, i, nxt, win)))
            yield pid, data, seconds


def _config(params: Params, seed: int, pids: list[str], win: Window) -> dict[str, Any]:
    return {
        "seed": seed,
        "participants": pids,
        "months": win.months,
        "end": win.end.isoformat(),
        "params": params.to_dict(),
    }


def _config_of(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("seed", "participants", "months", "end", "params")}


def _write(s: Any, datas: list[Any], result: SimulationResult, doc: Any) -> None:
    import numpy as np
    import pandas as pd

    from study.write.contacts import preload_contacts

    with s.batch() as b:
        contacts = pd.concat([d.contacts for d in datas], ignore_index=True)
        preload_contacts(b.conn, b.ledger, contacts["key"].tolist())
        for data in datas:
            b.add_participant(data.pid)
        # one frame per batch, checked per column; a resumed run skips what the log holds
        held = np.array([b.ledger.contact(k) is not None for k in contacts["key"]], dtype=bool)
        b.add_contacts(contacts[~held])
        result.contacts += len(contacts)
        frame = pd.concat([d.events for d in datas], ignore_index=True)
        b.log_frame(frame, source=SOURCE)
        result.by_kind.update(frame["kind"].tolist())
        store_truth(b.conn, doc)
    result.events_added += b.summary.added
    result.events_present += b.summary.already_present


def demo_seed(
    params: Params | None = None, months: int = 24, end: dt.date | None = None, first: int = 2
) -> int:
    """The first seed from ``first`` on whose single participant shows every event kind on
    both platforms (at least twice each; the own-name rank is a web figure, platform other).

    The study window moves with the calendar, so the demo picks its seed for the window."""
    from study.vocabulary import KINDS

    params = params or Params()
    win = make_window(months, end)
    for seed in range(first, first + 200):
        ev = simulate_participant(params, seed, 0, "me", win).events
        counts = ev.groupby(["kind", "platform"]).size()
        if all(counts.get((k, p), 0) >= 2 for k in KINDS for p in ("xing", "linkedin")):
            return seed
    raise StudyError("no demo seed shows every event kind; check the settings")


def frames(
    params: Params | None = None,
    seed: int = 0,
    *,
    participants: int = 1,
    months: int = 24,
    end: dt.date | None = None,
) -> Any:
    """The same simulation as :func:`run`, as DataFrames without a database (for power runs)."""
    from study.simulate.simframes import SimFrames

    params = params or Params()
    pids = participant_ids(participants)
    win = make_window(months, end)
    datas = [simulate_participant(params, seed, i, pid, win) for i, pid in enumerate(pids)]
    return SimFrames.from_datas(
        datas, build_truth(params, seed, pids, win, {d.pid: d.effects for d in datas}), win
    )


__all__ = [
    "Params",
    "SimulationResult",
    "run",
    "truth",
    "frames",
    "demo_seed",
    "participant_ids",
    "SOURCE",
]
