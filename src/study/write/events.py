"""One frame of events checked and inserted in one pass (``Batch.log_frame``'s core).

There is one specification (:mod:`study.vocabulary`, :mod:`study.write.rules`) and two
executors: the per-event one (:meth:`study.write.batch.Batch.log`) and this per-column one,
in three steps, one module each: :mod:`~study.write.cells` (the stateless rules per column),
:mod:`~study.write.checks` (the log's rules per column), :mod:`~study.write.insert` (the rows
in). Only *which* rows break a rule is decided per column; the first such row is replayed
through the per-event checks, which raise the very error ``log`` would raise (prefixed with the
frame's row label). The randomized test in ``tests/test_bulk.py`` holds both to it.

What runs per row in Python, because it is small or rare: rows of job leads (the lead rules need
the order of a lead's steps), contacts whose rows in the frame are not in time order (the
removal rule then depends on the order of the rows), metric periods that meet another, and
columns of Python objects that are not of the expected dtype (numbers given as text, naive
times).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from study.write.cells import ParsedColumns, TextColumn
from study.write.checks import Disagreement, RuleChecks
from study.write.insert import InsertRows

if TYPE_CHECKING:
    from study.write.batch import Batch
    from study.write.groups import FramePart


class BulkLog(ParsedColumns, RuleChecks, InsertRows):
    """Validate and insert one frame inside one batch: ``parse`` (:mod:`~study.write.cells`),
    ``check_rules`` and ``check_leads`` (:mod:`~study.write.checks`), ``insert``
    (:mod:`~study.write.insert`)."""

    def __init__(
        self,
        batch: Batch,
        frame: pd.DataFrame,
        *,
        source: str,
        force: bool,
        part: FramePart | None = None,
    ):
        """``part``: ``frame`` is some rows of a larger frame (see :mod:`study.write.groups`),
        whose source keys are settled over the whole frame."""
        self.batch = batch
        self.part = part
        #: around each query: lets a part's inserting thread pause (see study.write.groups)
        self.reading = part.reading if part is not None else contextlib.nullcontext
        self.conn = batch.conn
        self.frame = frame
        self.source = source
        self.force = force
        self.tz = batch.study.tz
        self.now = batch.now
        self.n = len(frame)
        self._texts: dict[str, TextColumn | None] = {}
        #: the driver's parameter mark (raw SQL for the lookups of many keys)
        self.mark = "?" if self.conn.dialect.name == "sqlite" else "%s"


def log_frame_one_pass(
    batch: Batch, frame: pd.DataFrame, *, source: str, force: bool, fallback
) -> int:
    """Parse, check and insert ``frame`` in one pass; the first bad row raises its error
    (``fallback``, the row-by-row executor, takes over if the checks disagree with it)."""
    bulk = BulkLog(batch, frame, source=source, force=force)
    bulk.parse()
    bulk.check_rules()
    first = np.flatnonzero(bulk.out.bad | bulk.state_bad)
    limit = int(first[0]) if len(first) else bulk.n
    limit = bulk.check_leads(limit)
    if limit < bulk.n:
        try:
            bulk.raise_first(limit)
        except Disagreement:
            warnings.warn(
                f"log_frame: the per-column checks disagree with log() on row "
                f"{frame.index[limit]}; falling back to row by row",
                RuntimeWarning,
                stacklevel=4,
            )
            return fallback(batch, frame, source=source, force=force)
    return bulk.insert()
