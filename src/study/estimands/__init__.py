"""The report's numbers, one function per section, each a validated estimand.

    import study
    s = study.open("data/study.db")
    r = study.results(s, period="2026-10")     # the report's settings: participant me, W = 365 days
    r.names()                                  # the sections that have a result
    fit = r["sustainability.cox"]              # the object the report's section puts into words
    fit.estimands()                            # {name: Estimate}: what the report prints

Every number a report prints comes from a function registered here with ``@result(name)``
(``name`` is the report section's, e.g. ``sustainability.cox``); the report's section only puts
the result into words, and the validation harness (:mod:`study.validation`) runs the same
function on simulated studies and compares its ``estimands()`` with the truth
(docs/validation.md). With changed settings, call the module's function yourself on a
:class:`~study.tables.bundle.Tables`, e.g.
``study.estimands.sustainability.cox_model(tables, covariates=("basis",))``.

A result object is a dataclass with an ``estimands()`` method returning the printed estimates
by name (:class:`Answer`); a function that finds too few data raises
:class:`~study.analysis.base.NotEnoughData`, which the report shows as "not enough data yet".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from study.analysis.base import Estimate, NotEnoughData
from study.tables.bundle import Tables

if TYPE_CHECKING:
    from study.api import Study
    from study.periods import Period

#: The modules that register results, one per report part (imported on first use).
MODULES = ("sustainability", "job_search", "reputation", "second_degree", "overview")

ResultFn = Callable[[Tables], Any]
RESULTS: dict[str, ResultFn] = {}


@runtime_checkable
class Answer(Protocol):
    """What a result object offers the report and the validation harness."""

    def estimands(self) -> dict[str, Estimate]:
        """The estimates the report prints, by a stable name (e.g. ``hr basis[none]``)."""
        ...


def result(name: str) -> Callable[[ResultFn], ResultFn]:
    """Register ``fn(tables) -> result`` as the result of the report section ``name``."""

    def register(fn: ResultFn) -> ResultFn:
        if name in RESULTS and RESULTS[name] is not fn:
            raise ValueError(f"result {name!r} is registered twice")
        RESULTS[name] = fn
        return fn

    return register


def load() -> dict[str, ResultFn]:
    """Every registered result (importing the part modules that register them)."""
    for module in MODULES:
        try:
            importlib.import_module(f"study.estimands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"study.estimands.{module}":
                raise
    return RESULTS


class Results:
    """The report's result objects for one set of tables, each computed once on first use.

    ``r[name]`` returns the result (or raises NotEnoughData again, as the report shows it).
    """

    def __init__(self, tables: Tables):
        self.tables = tables

    def names(self) -> list[str]:
        return sorted(load())

    def __contains__(self, name: object) -> bool:
        return name in load()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __getitem__(self, name: str) -> Any:
        fns = load()
        if name not in fns:
            raise KeyError(f"no result {name!r} (known: {', '.join(sorted(fns))})")
        memo = self.tables.memo
        if name not in memo:
            try:
                memo[name] = fns[name](self.tables)
            except NotEnoughData as exc:
                memo[name] = exc
        if isinstance(memo[name], NotEnoughData):
            raise memo[name]
        return memo[name]

    def get(self, name: str) -> Any | None:
        """The result, or None where the data are not enough yet."""
        try:
            return self[name]
        except NotEnoughData:
            return None

    def estimands(self) -> dict[str, Estimate]:
        """Every printed estimate of every section that has enough data, ``section: name``."""
        out: dict[str, Estimate] = {}
        for name in self.names():
            r = self.get(name)
            if isinstance(r, Answer):
                out.update({f"{name}: {k}": v for k, v in r.estimands().items()})
        return out

    def __repr__(self) -> str:
        t = self.tables
        return (
            f"Results(participant={t.participant!r}, cutoff={t.cutoff.isoformat()}, "
            f"window={t.window}, sections={len(self.names())})"
        )


def results(
    study: Study,
    participant: str = "me",
    period: str | Period = "",
    *,
    window: int = 365,
) -> Results:
    """The report's results for ``participant`` at the end of ``period`` (empty: the last
    complete month), with the report's settings."""
    return Results(Tables.from_study(study, participant, period, window=window))


__all__ = ["Answer", "RESULTS", "Results", "Tables", "load", "result", "results"]
