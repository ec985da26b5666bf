"""study: a research toolkit for longitudinal studies of professional online networks.

``s = study.open("data/study.db")`` gives the log: ``s.log(kind, **fields)``, ``s.batch()``,
``s.events()``, ``s.contacts()``. See README.md.
"""

from __future__ import annotations

from study.api import Batch, Study, init, open  # noqa: A004
from study.errors import StudyError, ValidationError

__version__ = "0.1.0"
__all__ = ["Batch", "Study", "StudyError", "ValidationError", "init", "open", "__version__"]
