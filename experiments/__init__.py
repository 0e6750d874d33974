"""One package per experiment (`python -m experiments.<name>`); `python -m experiments` runs them all and
writes the report (`make results`)."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def names(folder: Path = FOLDER) -> list[str]:
    """Every experiment package in `folder` (a sub-folder with a __main__.py), in the seeds' order."""
    from jaxdl.reporting.report import seed_order

    return seed_order([p.parent.name for p in folder.glob("*/__main__.py") if not p.parent.name.startswith("_")])
