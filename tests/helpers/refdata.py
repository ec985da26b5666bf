"""Where the reference data live: ``tests/refdata`` (a copy of ``../shared/refdata`` whose
checksums the tests check), or ``STUDY_REFDATA``.

Missing data fail the tests that need them (with the place looked in); they never skip: a run
that cannot check the published analyses must not pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The copy in the repository, and the shared folder it was copied from (beside the project).
COPY = ROOT / "tests" / "refdata"
SHARED = ROOT.parent / "shared" / "refdata"


def refdata_dir() -> Path:
    """The folder of the reference data sets (STUDY_REFDATA, else the copy in tests/refdata)."""
    return Path(os.environ.get("STUDY_REFDATA") or COPY)


def read_refdata(name: str) -> pd.DataFrame:
    """One reference data set as a DataFrame; fails the test if it is not there."""
    path = refdata_dir() / name
    if not path.is_file():
        pytest.fail(
            f"reference data {path} not found: set STUDY_REFDATA to the folder that holds it",
            pytrace=False,
        )
    return pd.read_csv(path)
