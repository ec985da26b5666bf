"""The copy of the reference data is the published one: checksums, and the shared folder."""

from __future__ import annotations

import hashlib

from tests.helpers.refdata import COPY, SHARED


def sums() -> dict[str, str]:
    lines = (COPY / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def test_copy_matches_its_checksums() -> None:
    expected = sums()
    assert set(expected) == {"lung.csv", "rossi.csv", "sicily.csv"}
    for name, digest in expected.items():
        assert hashlib.sha256((COPY / name).read_bytes()).hexdigest() == digest, name


def test_copy_equals_the_shared_folder_where_it_is_present() -> None:
    """Beside the project (../shared/refdata) the shared data must be the same bytes; on a
    machine without the shared folder the checksums above are the check."""
    present = [n for n in sums() if (SHARED / n).is_file()]
    for name in present:
        assert (SHARED / name).read_bytes() == (COPY / name).read_bytes(), name
    assert present or not SHARED.exists()
