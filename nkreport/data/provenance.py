"""Provenance of a build: software versions, data file hashes and seeds.

Everything here is a function of the installed packages and of the bytes of the files in
``data/``; nothing reads a clock, so the same inputs always give the same page.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from .. import SEED, __version__, paths

#: Distributions whose versions the book reports, in the order shown.
PACKAGES: tuple[str, ...] = (
    "nkreport",
    "pymc",
    "pytensor",
    "arviz",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "jupyter-book",
    "myst-nb",
    "sphinx",
)
#: Files in ``data/`` that are data (hashes are reported for these).
DATA_PATTERNS: tuple[str, ...] = ("*.csv", "*.json")
_CHUNK = 1 << 16


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hexadecimal digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_files(data_dir: str | Path | None = None) -> list[Path]:
    """Every data file under ``data_dir`` (default: the project's ``data/``), sorted by path."""
    base = Path(data_dir) if data_dir is not None else paths.data_dir()
    found = {p for pattern in DATA_PATTERNS for p in base.rglob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: p.relative_to(base).as_posix())


def data_hashes(data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per data file: its path (from the project root, as ``data/...``), size and SHA-256."""
    base = Path(data_dir) if data_dir is not None else paths.data_dir()
    rows = [
        {
            "file": (Path(base.name) / path.relative_to(base)).as_posix(),
            "bytes": path.stat().st_size,
            "sha256": file_sha256(path),
        }
        for path in data_files(base)
    ]
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"])


def data_fingerprint(hashes: pd.DataFrame, length: int = 16) -> str:
    """One short hash of all data files: SHA-256 over the sorted ``path  sha256`` lines.

    A change to any byte of any file, a renamed file, an added or a removed file changes it.
    """
    lines = sorted(f"{row.file}  {row.sha256}\n" for row in hashes.itertuples())
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()[:length]


def package_versions(packages: tuple[str, ...] = PACKAGES) -> pd.DataFrame:
    """The installed version of each distribution (``not installed`` if absent), then Python."""
    rows = []
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = __version__ if name == "nkreport" else "not installed"
        rows.append({"package": name, "version": version})
    rows.append({"package": "python", "version": platform.python_version()})
    return pd.DataFrame(rows, columns=["package", "version"])


def seeds() -> pd.DataFrame:
    """The seeds the analyses start from, with where they are defined."""
    return pd.DataFrame(
        [
            {
                "seed": "nkreport.SEED",
                "value": SEED,
                "use": "every MCMC fit and predictive draw takes nkreport.seed_for(its name), derived from it; "
                "the SIMULATED example and lifelines take it as is",
            }
        ],
        columns=["seed", "value", "use"],
    )
