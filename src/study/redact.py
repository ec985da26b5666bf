"""Finding a person's name wherever free text or a file name may spell it, for ``study forget``.

A name reaches the log in more shapes than it was typed: ``Zebulon Quargelmeier`` in a note,
``Zebulon_Quargelmeier.vcf`` as an imported file, ``zebulon-quargelmeier`` in a profile URL,
``Quargelmeier, Zebulon`` in a spreadsheet, ``Müller`` as ``Mueller`` or ``Muller``. So a name
is matched word by word, in either order for a name of two or three words, with any run of
punctuation, blanks, underscores or ``%20`` (or nothing) between the words, in its German
transliteration and without accents, case ignored. Pure functions; docs/privacy.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

REDACTED = "[forgotten]"
#: Shorter needles (a first name alone, initials) would hit other people's text.
MIN_NEEDLE = 3
#: A short name is matched as whole words only; a long one anywhere (``ZebulonQuargelmeier``).
WHOLE_WORDS_BELOW = 10
_SEPARATOR = r"(?:[\W_]|%20)*"
_GERMAN = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
)


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _spellings(text: str) -> set[str]:
    return {text, text.translate(_GERMAN), _without_accents(text)}


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", text) if w]


def _url_needles(url: str) -> list[str]:
    """A profile URL as typed, without its scheme and ``www.``, and its last path segment
    (the profile's own slug, when it is long enough to be the person's)."""
    bare = re.sub(r"^[a-z]+://(www\.)?", "", url.strip(), flags=re.IGNORECASE).rstrip("/")
    slug = bare.rsplit("/", 1)[-1].split("?", 1)[0]
    return [url, bare, *([slug] if len(slug) >= 5 and "/" in bare else [])]


@dataclass(frozen=True)
class Person:
    """The spellings of one person's name, e-mail address and profile URL as a pattern."""

    pattern: re.Pattern[str] | None

    @classmethod
    def of(
        cls, name: str | None = None, email: str | None = None, url: str | None = None
    ) -> Person:
        alternatives: list[str] = []
        for needle, flexible in [
            (name, True),
            (email, False),
            *((u, False) for u in (_url_needles(url) if url else [])),
        ]:
            needle = (needle or "").strip()
            if len(needle) < MIN_NEEDLE:
                continue
            for spelling in _spellings(needle):
                words = _words(spelling)
                if not words:
                    continue
                orders = [words]
                if flexible and 2 <= len(words) <= 3:
                    orders.append(words[::-1])
                for order in orders:
                    joined = _SEPARATOR.join(re.escape(w) for w in order)
                    if sum(map(len, words)) < WHOLE_WORDS_BELOW:  # "Li Wu" not in "Oliwurst"
                        joined = rf"(?<![^\W_]){joined}(?![^\W_])"
                    alternatives.append(joined)
        alternatives = sorted(set(alternatives), key=len, reverse=True)  # longest first
        if not alternatives:
            return cls(None)
        return cls(re.compile("|".join(alternatives), re.IGNORECASE))

    def found_in(self, text: str) -> bool:
        return self.pattern is not None and self.pattern.search(text) is not None

    def redact(self, text: str) -> str:
        """``text`` with every spelling of the person replaced by ``[forgotten]``."""
        return self.pattern.sub(REDACTED, text) if self.pattern is not None else text


def strings_in(value: object) -> Iterable[str]:
    """Every string inside a JSON-like value (dicts, lists, nested)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v)
