"""Shared fixtures (the repository root, a scratch copy of the data folder) and the tiers.

The tests are in tiers, one folder each, and every test carries its tier's marker:
``data`` (files, readers, validation), ``analysis`` (statistics against closed forms,
quadrature and brute force), ``reference`` (published tables and values pinned from other
software), ``report`` (tables, figures, glue, escaping), ``build`` (the Sphinx extension and
builds of temporary copies), ``cli`` (the command) and ``book`` (the built HTML and PDF).
The helper modules beside this file (``adversarial``, ``buildcopy``, ``chromium``) are shared
by the tiers.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helper modules
TIERS = ("data", "analysis", "reference", "report", "build", "cli", "book")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        tier = Path(str(item.fspath)).resolve().relative_to(here).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, f"tier_{tier}"))


os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of data/ (tests corrupt it freely)."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target
