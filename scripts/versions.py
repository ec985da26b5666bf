"""Print the versions this environment runs, so a test log says what it tested."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

#: The packages whose versions move the numbers: the statistics and the data layer.
PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "lifelines",
    "pyarrow",
    "sqlalchemy",
    "psycopg",
    "matplotlib",
    "seaborn",
    "networkx",
    "papermill",
    "typst",
    "pypandoc-binary",
)


def main() -> None:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    print(
        f"versions: Python {platform.python_version()} on {platform.machine()} ({sys.platform}); "
        + ", ".join(found)
    )


if __name__ == "__main__":
    main()
