"""Shared fixtures: the repository root and a scratch copy of the data folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
