"""study: a research toolkit for longitudinal studies of professional online networks.

``s = study.open("data/study.db")`` gives the log: ``s.log(kind, **fields)``, ``s.batch()``,
``s.events()``, ``s.contacts()``; ``study.results(s, period="2026-10")`` the report's numbers
(:mod:`study.estimands`). See README.md.
"""

from __future__ import annotations

from study.api import Batch, Study, init, open  # noqa: A004
from study.errors import StudyError, ValidationError

__version__ = "0.1.0"


def results(study: Study, participant: str = "me", period: str = "", *, window: int = 365):  # noqa: ANN201
    """The report's result objects for a participant and period (:mod:`study.estimands`)."""
    from study.estimands import results as _results

    return _results(study, participant, period, window=window)


__all__ = [
    "Batch",
    "Study",
    "StudyError",
    "ValidationError",
    "init",
    "open",
    "results",
    "__version__",
]
