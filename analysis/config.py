"""Project paths, anchored on the repository root so code and notebooks run from any directory."""

from __future__ import annotations

import os
from pathlib import Path

#: Package directory (``analysis/``); resources ship inside it.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Repository root: the parent of the package in an editable install.
ROOT = Path(os.environ.get("OUTLET_LENS_ROOT", PACKAGE_DIR.parent)).resolve()

RESOURCES = PACKAGE_DIR / "resources"
DATA = ROOT / "data"
RAW = DATA / "raw"
METADATA = DATA / "metadata.csv"
LEXICON = DATA / "lexicon"
ANNOTATIONS = DATA / "annotations"
PROCESSED = DATA / "processed"
NOTEBOOKS = ROOT / "notebooks"
REPORTS = ROOT / "reports"
#: External evaluation data and corpora: read from there, never copied.
SHARED = Path(os.environ.get("OUTLET_LENS_SHARED", ROOT.parent / "shared")).resolve()
EVAL = SHARED / "eval"
CORPORA = SHARED / "corpora"

#: Default corpus: the seed articles, as a folder with its metadata table.
SEED_CORPUS = RAW
