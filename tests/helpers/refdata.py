"""Where the shared reference data live: ``../shared/refdata`` beside the project's root.

``STUDY_REFDATA`` points elsewhere. Missing data fail the tests that need them (with the place
looked in), they never skip: a run that cannot check the published analyses must not pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def refdata_dir() -> Path:
    """The folder of the reference data sets (STUDY_REFDATA, else ../shared/refdata)."""
    return Path(os.environ.get("STUDY_REFDATA") or ROOT.parent / "shared" / "refdata")


def read_refdata(name: str) -> pd.DataFrame:
    """One reference data set as a DataFrame; fails the test if it is not there."""
    path = refdata_dir() / name
    if not path.is_file():
        pytest.fail(
            f"reference data {path} not found: put ../shared/refdata beside the project "
            "or set STUDY_REFDATA to the folder that holds it",
            pytrace=False,
        )
    return pd.read_csv(path)
