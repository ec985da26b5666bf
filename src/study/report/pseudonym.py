"""The participant's pseudonym in reports (title page, panel tables): ``P-`` and 8 hex digits
of a hash keyed with the study's pseudonym key, stable across reports of one study and
meaningless outside it. Its own module: the report's parts and its runner both use it."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from study import store

if TYPE_CHECKING:
    from study.api import Study


def participant_pseudonym(study: Study, participant: str) -> str:
    """A stable pseudonym for ``participant`` in ``study``'s reports."""
    key = store.pseudonym_key(study.meta, study.name)
    return "P-" + hmac.new(key, participant.encode(), hashlib.sha256).hexdigest()[:8]
