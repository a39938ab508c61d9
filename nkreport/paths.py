"""Where the project's files are.

The project root is found, in order, from the environment variable ``NKREPORT_ROOT``, from the
current directory or one of its parents (a folder holding ``_config.yml`` and ``data/``), or
from the location of this package (an editable install inside the repository).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def _is_root(folder: Path) -> bool:
    return (folder / "_config.yml").is_file() and (folder / "data").is_dir()


def project_root() -> Path:
    env = os.environ.get("NKREPORT_ROOT")
    if env:
        return Path(env)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if _is_root(folder):
            return folder
    package_parent = Path(__file__).resolve().parent.parent
    if _is_root(package_parent):
        return package_parent
    raise FileNotFoundError(
        "cannot find the nkreport project (a folder with _config.yml and data/); "
        "run from inside it or set NKREPORT_ROOT"
    )


#: Environment variable naming the build directory (``<...>/_build``) of the running build.
BUILD_DIR_ENV = "NKREPORT_BUILD_DIR"


def build_dir() -> Path:
    """The running build's ``_build`` folder (set by the book's extension for the chapters'
    kernels), else ``<root>/_build``."""
    env = os.environ.get(BUILD_DIR_ENV)
    return Path(env) if env else project_root() / "_build"


def data_dir() -> Path:
    """The data folder (``NKREPORT_DATA`` overrides ``<root>/data``)."""
    env = os.environ.get("NKREPORT_DATA")
    return Path(env) if env else project_root() / "data"


def write_atomic(path: Path, content: str | bytes | Callable[[Path], None]) -> None:
    """Write ``content`` (text, bytes, or a function that writes a given path) to ``path``
    through a temporary file in the same folder, so that a reader sees the old file or the new
    one, never a part; the temporary file is removed if writing fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(content, str):
            partial.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            partial.write_bytes(content)
        else:
            content(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
