"""How a person is recognised again: a normalized profile URL, else a normalized name.

Pure text functions, shared by ``add_contact`` (which answers an existing contact's key
instead of adding a second one) and the importers (which match an archive's rows to the
study's contacts). Only a keyed hash of an identity is stored with a contact
(``Study.identity_hash``), never the text.

The name's normalization is deliberately plain (white space collapsed, lower case): it is part
of every stored identity hash, so changing it would make re-imports miss the contacts they
made before.
"""

from __future__ import annotations

import re


def norm_url(url: str) -> str:
    """A profile URL as a stable key: lower-case, https:// added, no query, no trailing slash."""
    u = url.strip().strip('"').strip().lower()
    if not u:
        return ""
    u = re.sub(r"^https?://", "", u)
    u = u.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if u.startswith("linkedin.com/"):
        u = "www." + u
    return "https://" + u


def is_profile_url(url: str) -> bool:
    return "/in/" in url or "/pub/" in url or "xing.com/profile" in url


def norm_person(name: str) -> str:
    """A name compared loosely: white space collapsed, lower case."""
    return " ".join(name.split()).lower()


def name_identity(name: str) -> str:
    return "name:" + norm_person(name)


def contact_identities(name: str | None, profile_url: str | None) -> list[str]:
    """The identities a contact added by hand is known by, strongest first."""
    found = []
    if profile_url and norm_url(profile_url):
        found.append(norm_url(profile_url))
    if name and norm_person(name):
        found.append(name_identity(name))
    return found
