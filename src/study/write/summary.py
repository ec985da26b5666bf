"""What a batch of writes did, and the warning a write that changed nothing gives."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class WriteSummary:
    """What a batch of writes did."""

    added: int = 0
    already_present: int = 0
    contacts_added: int = 0
    ids: list[int] = field(default_factory=list)
    #: (source, source_key, id if known) of events that were in the log already (``log``
    #: only, not frames; the first 100)
    present: list[tuple[str, str, int | None]] = field(default_factory=list)
    #: contacts ``add_contact`` found instead of adding them again: (key, how it matched)
    contacts_found: list[tuple[str, str]] = field(default_factory=list)


class AlreadyLogged(UserWarning):
    """A write that changed nothing because it was in the log already (a re-run cell)."""
