"""A scratch copy of the data for the book's *Adding a cohort* tutorial.

The tutorial adds a hypothetical cohort to a copy, never to ``data/``. The copy takes the files'
contents and not their permissions, so it is writable even when the data folder is read-only
(a checkout owned by another user, a read-only mount); it is removed when the process ends,
also when a cell fails.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from .. import paths


def scratch_copy(data_dir: Path | None = None, bib_path: Path | None = None) -> tuple[Path, Path, Path]:
    """A writable temporary copy of the data folder (patient-level files and hidden files left
    out) and of the BibTeX file: returns ``(workspace, data_dir, bib_path)``."""
    source = Path(data_dir) if data_dir is not None else paths.data_dir()
    bib_source = Path(bib_path) if bib_path is not None else paths.project_root() / "book" / "references.bib"
    workspace = Path(tempfile.mkdtemp(prefix="nkreport-tutorial-"))
    atexit.register(shutil.rmtree, workspace, ignore_errors=True)
    try:
        copy = workspace / "data"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("simulated", ".*"), copy_function=shutil.copyfile)
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        bib = workspace / "references.bib"
        shutil.copyfile(bib_source, bib)
        bib.chmod(0o644)
    except BaseException:
        shutil.rmtree(workspace, ignore_errors=True)
        raise
    return workspace, copy, bib
