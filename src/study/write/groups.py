"""A large frame of many participants: checked a group of participants at a time while a second
thread inserts the groups already checked (SQLite).

Most of a bulk import into SQLite is SQLite itself building the table and its indexes inside
``sqlite3_step``, which runs without Python's global lock; the checks of :mod:`study.write.checks` are
NumPy and pandas work that holds it. Done one after the other, their times add up; done side by
side, on two cores, the slower one sets the pace.

The rules let a frame be cut by participant: a contact, its removals and re-additions, a job
lead and its steps, an introducer all belong to one participant, so a group's checks need only
the log as it stood before the frame and the group's own rows (a row that refers to another
participant's contact breaks a rule wherever it is checked). The one rule that spans
participants, a source key given twice, is settled over the whole frame first: the first row
with the key wins, as in the per-event executor. Rows keep their frame order within a
participant; a participant's rows come in one block of ids.

Everything happens inside a savepoint of the batch's transaction. When a group has a row that
breaks a rule, the groups already inserted are rolled back to it and the whole frame goes
through :func:`study.write.events.log_frame_one_pass`'s single pass, which names the first problem exactly as
``log`` would.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from study.vocabulary import DEFAULT_PARTICIPANT
from study.write.cells import TextColumn
from study.write.events import BulkLog
from study.write.insert import insert_sqlite

if TYPE_CHECKING:
    from study.write.batch import Batch

#: Frames at least this long are cut into groups of participants (shorter ones gain nothing
#: from a second thread).
GROUPED_FROM = 50_000
#: How many groups: the first group's checks run before any insert can start, so more groups
#: mean less time alone; each group costs a few fixed queries and array set-ups.
GROUPS = 8
#: The first group's share of the rows: small, so the inserting thread starts early.
FIRST_SHARE = 1 / 32
#: Groups checked ahead of the inserting thread (bounds the memory of prepared rows).
AHEAD = 2
#: Python's thread switch interval while both threads work (the default is 5 ms): the inserting
#: thread needs the global lock back after each statement, and would wait up to that long.
SWITCH_INTERVAL = 0.0005


class FrameKeys:
    """The whole frame's source keys, and which rows' keys are in the log already or in an
    earlier row: settled before any group goes in."""

    def __init__(self, batch: Batch, frame: pd.DataFrame, *, source: str, force: bool):
        self.keys: TextColumn | None = None
        self.duplicates = np.zeros(len(frame), bool)
        if "source_key" in frame:
            self.keys = TextColumn(frame["source_key"], distinct=True)
            given = self.keys.codes >= 0
            values = np.full(len(frame), None, dtype=object)
            values[given] = self.keys.values()[given]
            whole = BulkLog(batch, frame, source=source, force=force)
            self.duplicates = whole.duplicate_keys(values)


class FramePart:
    """Rows ``rows`` of a frame, as one :class:`~study.write.events.BulkLog` checks them."""

    def __init__(self, keys: FrameKeys, rows: np.ndarray, reading: Any):
        self.frame_keys = keys
        self.rows = rows
        #: a context manager around each of the checks' queries
        self.reading = reading

    def source_keys(self) -> TextColumn:
        assert self.frame_keys.keys is not None
        return self.frame_keys.keys.subset(self.rows)

    def duplicates(self) -> np.ndarray:
        return self.frame_keys.duplicates[self.rows]


def participant_groups(frame: pd.DataFrame, groups: int) -> list[np.ndarray]:
    """The frame's rows cut into up to ``groups`` groups of whole participants, of about equal
    size; rows in frame order within a group.

    A participant is named as the checks read it (stripped text; empty means the default), so
    one participant's rows never land in two groups. Fewer than two participants: one group.
    """
    n = len(frame)
    if "participant" not in frame or n == 0:
        return [np.arange(n)]
    codes, uniq = pd.factorize(frame["participant"], use_na_sentinel=True)
    # the last name is for empty cells (code -1)
    names = [str(u).strip() or DEFAULT_PARTICIPANT for u in uniq] + [DEFAULT_PARTICIPANT]
    person = pd.factorize(np.asarray(names, dtype=object))[0][codes]
    if person.max() < 1:
        return [np.arange(n)]
    sizes = np.bincount(person)
    before = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # rows ahead of each participant
    first = n * FIRST_SHARE
    starts = first + (n - first) * np.arange(groups - 1) / (groups - 1)
    group_of = np.searchsorted(starts, before, side="right")
    row_group = group_of[person]
    order = np.argsort(row_group, kind="stable")
    bounds = np.searchsorted(row_group[order], np.arange(1, groups))
    return [g for g in np.split(order, bounds) if len(g)]


class _Cancelled(Exception):
    """The main thread gave up on the frame: the inserting thread stops."""


class _Inserter:
    """A thread that inserts prepared rows through its own cursor of the batch's connection.

    The connection is shared with the main thread's queries. SQLite serializes the two, but a
    query's every row step would wait behind a whole insert statement; so the thread starts
    no statement while the main thread reads (:meth:`reading`), and a read waits for at most
    the statement under way.
    """

    def __init__(self, dbapi_connection: Any):
        self.jobs: queue.Queue[list[np.ndarray] | None] = queue.Queue(maxsize=AHEAD)
        self.added: list[int] = []
        self.error: BaseException | None = None
        self._turn = threading.Condition()
        self._readers = 0
        self._stepping = False
        self.cancelled = False
        self.cursor = dbapi_connection.cursor()
        self.thread = threading.Thread(target=self._run, name="study-insert", daemon=True)
        self.thread.start()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """The main thread's turn on the connection."""
        with self._turn:
            self._readers += 1
            while self._stepping:
                self._turn.wait()
        try:
            yield
        finally:
            with self._turn:
                self._readers -= 1
                self._turn.notify_all()

    @contextlib.contextmanager
    def _statement(self) -> Iterator[None]:
        """The inserting thread's turn, one statement long."""
        with self._turn:
            while self._readers:
                self._turn.wait()
            if self.cancelled:
                raise _Cancelled
            self._stepping = True
        try:
            yield
        finally:
            with self._turn:
                self._stepping = False
                self._turn.notify_all()

    def _run(self) -> None:
        while (columns := self.jobs.get()) is not None:
            if self.error is not None or self.cancelled:
                continue  # drain: the main thread learns of the error at its next put
            try:
                self.added.append(insert_sqlite(self.cursor, columns, self._statement))
            except _Cancelled:
                pass
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self.error = exc

    def put(self, columns: list[np.ndarray]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put(columns)

    def cancel(self) -> None:
        """Stop at the next statement and wait for the thread (the caller rolls back)."""
        self.cancelled = True
        if self.thread.is_alive():
            self.jobs.put(None)
            self.thread.join()
        self.cursor.close()

    def close(self) -> list[int]:
        """Wait for the queued rows; the rows each job added (the thread's error, if any)."""
        self.jobs.put(None)
        self.thread.join()
        self.cursor.close()
        if self.error is not None:
            raise self.error
        return self.added


def log_frame_by_groups(
    batch: Batch, frame: pd.DataFrame, *, source: str, force: bool
) -> int | None:
    """Check and insert ``frame`` group by group (see the module's text); the rows added, or
    None when it is not worth it (one participant) or a row breaks a rule (then nothing of the
    frame is left in the log, and the caller runs the single pass)."""
    if "source_key" not in frame or frame["source_key"].isna().any():
        return None  # rows keyed by their content: their duplicates are found in one pass
    groups = participant_groups(frame, GROUPS)
    if len(groups) < 2:
        return None
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_INTERVAL))
    try:
        checked, added = _check_and_insert(batch, frame, groups, source=source, force=force)
    finally:
        sys.setswitchinterval(switch)
    if checked is None:
        return None
    counts = iter(added)
    total = 0
    for bulk, inserted in checked:
        count = next(counts) if len(inserted) else 0
        bulk.count(inserted, count)
        total += count
    return total


def _check_and_insert(
    batch: Batch, frame: pd.DataFrame, groups: list[np.ndarray], *, source: str, force: bool
) -> tuple[list[tuple[BulkLog, np.ndarray]] | None, list[int]]:
    """The groups checked (None if one broke a rule: nothing of the frame is left then) and
    the rows the inserting thread added per group it was given."""
    keys = FrameKeys(batch, frame, source=source, force=force)
    savepoint = batch.conn.begin_nested()
    inserter = _Inserter(batch.conn.connection.dbapi_connection)
    checked: list[tuple[BulkLog, np.ndarray]] = []
    try:
        for rows in groups:
            bulk = BulkLog(
                batch,
                frame.iloc[rows],
                source=source,
                force=force,
                part=FramePart(keys, rows, inserter.reading),
            )
            bulk.parse()
            bulk.check_rules()
            first = np.flatnonzero(bulk.out.bad | bulk.state_bad)
            limit = int(first[0]) if len(first) else bulk.n
            if bulk.check_leads(limit) < bulk.n:
                inserter.cancel()
                savepoint.rollback()
                return None, []
            inserted, values = bulk.insert_columns()
            if len(inserted):
                inserter.put(values)
            checked.append((bulk, inserted))
        added = inserter.close()
    except BaseException:
        inserter.cancel()
        savepoint.rollback()
        raise
    savepoint.commit()
    return checked, added
