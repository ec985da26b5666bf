"""The errors a user can cause. The command line prints them as one line and exits 2."""

from __future__ import annotations


class StudyError(Exception):
    """A mistake in input or set-up that the user can fix; never shown with a traceback."""

    exit_code = 2


class ValidationError(StudyError):
    """An event or contact that breaks the vocabulary or one of its rules.

    ``field`` names the offending field so importers can point at file, line and column.
    """

    def __init__(self, message: str, field: str | None = None, *, forceable: bool = False):
        self.field = field
        self.forceable = forceable
        text = f"{field}: {message}" if field else message
        if forceable:
            text += " (use --force if this is really so)"
        super().__init__(text)
        self.reason = message


class DatabaseError(StudyError):
    """The database cannot be opened, is of an unknown version, or refused a write."""
