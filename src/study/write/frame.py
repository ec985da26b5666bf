"""``Batch.log_frame``: many events at once, with the vocabulary and the rules of ``log``.

Which executor takes a frame: row by row through ``log`` (:func:`log_frame_rows`, the
reference, for frames with a ``period`` column and other databases), groups of participants
with a second thread inserting (:mod:`study.write.groups`, large frames on SQLite), or one pass
(:mod:`study.write.events`).
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pandas as pd

from study.errors import ValidationError
from study.vocabulary import check_source
from study.write import groups
from study.write.cells import check_columns, label_error, row_arguments
from study.write.events import log_frame_one_pass

if TYPE_CHECKING:
    from study.write.batch import Batch


def log_frame_rows(batch: Batch, frame: pd.DataFrame, *, source: str, force: bool) -> int:
    """The per-event executor over a frame: ``Batch.log`` row by row (the reference)."""
    check_columns(frame)
    before = batch.summary.added + len(batch._events)
    for pos in range(len(frame)):
        kind, kwargs, fields = row_arguments(frame, pos, source)
        try:
            batch.log(kind, force=force, **kwargs, **fields)
        except ValidationError as err:
            raise label_error(err, frame.index[pos]) from None
    return batch.summary.added + len(batch._events) - before


def log_frame(batch: Batch, frame: pd.DataFrame, *, source: str, force: bool) -> int:
    """Validate ``frame`` per column, raise the first row's problem, insert; return how many
    were new."""
    check_columns(frame)
    source = check_source(source)
    if "period" in frame.columns or batch.conn.dialect.name not in ("sqlite", "postgresql"):
        return log_frame_rows(batch, frame, source=source, force=force)
    if not len(frame):
        return 0
    # Millions of short-lived tuples and strings would make the cyclic garbage collector scan
    # the heap again and again (a quarter of the time); nothing here makes reference cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _log_frame(batch, frame, source=source, force=force)
    finally:
        if collecting:
            gc.enable()


def _log_frame(batch: Batch, frame: pd.DataFrame, *, source: str, force: bool) -> int:
    batch.flush()  # contacts and events queued by log()/add_contact() are now in the database
    if batch.conn.dialect.name == "sqlite" and len(frame) >= groups.GROUPED_FROM:
        added = groups.log_frame_by_groups(batch, frame, source=source, force=force)
        if added is not None:
            return added
    return log_frame_one_pass(batch, frame, source=source, force=force, fallback=log_frame_rows)
