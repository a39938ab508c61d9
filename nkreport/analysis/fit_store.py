"""Fits stored between the book's kernels.

Chapters run in separate kernels, so a posterior that two chapters report would otherwise be
sampled twice. A stored result lives in the running build's folder
(``<build>/nkreport_cache``, so a clean build starts empty) under a key that hashes everything
it depends on; callers pass those parts (data, settings, seed, their module's source) and the
library versions are added here. Sampling is seeded, so a stored fit equals a fresh one.
``NKREPORT_FIT_CACHE=off`` turns storing off; any other value names the folder to use.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from ..paths import write_atomic

STORE_ENV = "NKREPORT_FIT_CACHE"


def _versions() -> list[str]:
    """Installed versions of the libraries a stored fit depends on (read from the package
    metadata, so that a chapter reading a stored fit need not import PyMC or ArviZ)."""
    from importlib.metadata import version

    return [version(name) for name in ("pymc", "pytensor", "numpy", "arviz")]


def store_path(kind: str, parts: Iterable[str], suffix: str) -> Path | None:
    """Where the result of ``kind`` keyed by ``parts`` is stored; None when storing is off."""
    setting = os.environ.get(STORE_ENV, "")
    if setting.lower() == "off":
        return None
    if setting:
        folder = Path(setting)
    else:
        from ..paths import build_dir

        folder = build_dir() / "nkreport_cache"
    digest = hashlib.sha256()
    for part in [*parts, *_versions()]:
        digest.update(str(part).encode() + b"\0")
    return folder / f"{kind}-{digest.hexdigest()[:20]}{suffix}"


def save(path: Path, idata) -> None:
    """Store an ArviZ InferenceData as netCDF (the one format of every stored fit), atomically."""
    write_atomic(path, idata.to_netcdf)


def load(path: Path):
    """A stored fit (netCDF written by :func:`save`), read fully into memory."""
    import arviz as az

    idata = az.from_netcdf(path)
    idata.load()
    return idata
