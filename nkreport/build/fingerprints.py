"""Input fingerprints of the book's chapters, free of Sphinx (``nkreport status`` and the
tests use them without loading it).

The scheme, in one place:

* A **group** is a folder and file patterns (:data:`DEPENDENCY_GROUPS`): the data folders
  (wherever ``NKREPORT_DATA`` puts the data), the package, the chapters. Its fingerprint is the
  SHA-256 of the group's name, the folder's location (relative to the project when inside it)
  and every file's relative path and bytes.
* A **row selector** (:mod:`nkreport.cohort_rows`) names cohort rows by role and outcome, e.g.
  ``cohorts/outcome=bsi`` or ``cohorts/outcome=rejection/role=external_baseline``; its
  fingerprint covers exactly the rows it picks (every field) and the sidecars of their files.
  A chapter that reads only some cohorts declares selectors instead of the whole ``cohorts``
  group, so a cohort of another role or outcome does not re-execute it.
* A **chapter's** fingerprint is the first 16 hexadecimal digits of the SHA-256 of its
  dependencies' fingerprints (by default every group but ``chapters`` and ``editions``; front
  matter ``nkreport_depends:`` narrows it, and ``package`` is always among them).
  It is written into the chapter's first code cell, so myst-nb's execution cache,
  which keys on code text, changes with the inputs; each page's footer shows it.
* The **all-inputs** fingerprint is that of the default groups: the footer of pages without
  code and the PDF's title page show it.
* The provenance page's *data fingerprint* is a different, tool-independent summary of
  ``data/`` alone (:func:`nkreport.data.provenance.data_fingerprint`: the SHA-256 of the sorted
  ``file  hash`` lines that ``sha256sum`` prints), so a reader can check it without nkreport.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .. import paths
from ..cohort_rows import SELECTOR_PREFIX, SelectorError, describe_selector, parse_selector, selector_fingerprint


class DependencyError(ValueError):
    """A chapter's front matter names an unknown dependency group."""


#: Dependency groups: name → folder (relative to the project root) and file patterns.
DEPENDENCY_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cohorts": ("data/cohorts", ("*.csv", "*.json")),
    "trial": ("data/trial", ("*.csv", "*.json")),
    "external": ("data/external", ("*.csv", "*.json")),
    "simulated": ("data/simulated", ("*.csv", "*.json")),
    "package": ("nkreport", ("*.py",)),
    # opt-in only: a chapter that reads other chapters' glued values (the conclusion) must
    # re-execute when their text changes, since a changed format reaches it only that way
    "chapters": ("book", ("*.md",)),
    # opt-in only: the released editions (the page on what changed since the last one)
    "editions": ("editions", ("*.json",)),
    # opt-in only: the values pinned from the peer tools, read by the validation appendix
    "validation": ("validation", ("*.json",)),
}
#: What a chapter with code depends on when its front matter declares nothing.
DEFAULT_GROUPS = tuple(g for g in DEPENDENCY_GROUPS if g not in ("chapters", "editions", "validation"))
FINGERPRINT_PREFIX = "# nkreport inputs fingerprint: "
#: Written beside the HTML folder after each build: every chapter's input groups and fingerprint,
#: so ``nkreport status`` can tell which chapters a data change will re-execute.
INPUTS_FILE = "nkreport-inputs.json"
#: Beside the HTML folder: the hash of the inputs of the last successful data validation.
VALIDATED_STAMP = ".nkreport-validated"
_CODE_CELL = re.compile(r"^(`{3,}|~{3,})\{code-cell\}", re.MULTILINE)
_DEPENDS = re.compile(r"^nkreport_depends:\s*\[([^\]]*)\]\s*$", re.MULTILINE)


#: Beside the HTML folder while a build runs; a build that finds it was interrupted, and starts
#: from a fresh Sphinx environment so that every page is read and written again.
INCOMPLETE_MARK = ".nkreport-build-incomplete"


def group_base(root: Path, group: str) -> Path:
    """The folder of a dependency group: data groups live in the data folder wherever
    ``NKREPORT_DATA`` puts it, the others in the project."""
    folder, _ = DEPENDENCY_GROUPS[group]
    if folder.startswith("data/"):
        data = paths.data_dir() if os.environ.get("NKREPORT_DATA") else root / "data"
        return data / folder.removeprefix("data/")
    return root / folder


def _location(root: Path, base: Path) -> str:
    """Where a group's files are: relative to the project when inside it (so every clone gives
    the same fingerprint), otherwise the absolute path."""
    try:
        return base.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        return str(base.resolve())


def group_files(root: Path, group: str) -> list[Path]:
    _, patterns = DEPENDENCY_GROUPS[group]
    base = group_base(root, group)
    files = {p for pattern in patterns for p in base.rglob(pattern) if "__pycache__" not in p.parts and p.is_file()}
    return sorted(files)


def group_fingerprint(root: Path, group: str) -> str:
    """SHA-256 of a group's name, its folder's location and every file's path and bytes."""
    base = group_base(root, group)
    digest = hashlib.sha256(group.encode())
    digest.update(_location(root, base).encode() + b"\0")
    for path in group_files(root, group):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def chapter_dependencies(source: str) -> tuple[str, ...] | None:
    """The dependency groups a chapter's source declares; None if it has no code cells."""
    if not _CODE_CELL.search(source):
        return None
    front = source.split("\n---", 1)[0] if source.startswith("---") else ""
    match = _DEPENDS.search(front)
    if not match:
        return DEFAULT_GROUPS
    groups = tuple(g.strip().strip("'\"") for g in match.group(1).split(",") if g.strip())
    for group in groups:
        if group.startswith(SELECTOR_PREFIX):
            try:
                parse_selector(group)
            except SelectorError as err:
                raise DependencyError(f"nkreport_depends: {err}") from None
        elif group not in DEPENDENCY_GROUPS:
            raise DependencyError(
                f"nkreport_depends names unknown group {group!r}; known: {list(DEPENDENCY_GROUPS)} "
                f"or a row selector such as 'cohorts/outcome=bsi'"
            )
    groups = set(groups) | {"package"}
    if "cohorts" in groups:  # the whole folder covers every row selector
        groups = {g for g in groups if not g.startswith(SELECTOR_PREFIX)}
    return tuple(sorted(groups))


def dependency_fingerprint(root: Path, dependency: str) -> str:
    """The fingerprint of one dependency: a group (:func:`group_fingerprint`) or a row selector
    of the cohorts folder (:func:`nkreport.cohort_rows.selector_fingerprint`)."""
    if dependency.startswith(SELECTOR_PREFIX):
        base = group_base(root, "cohorts")
        return selector_fingerprint(base, dependency, _location(root, base))
    return group_fingerprint(root, dependency)


def describe_dependency(dependency: str) -> str:
    """A dependency in words, for ``nkreport status``."""
    if dependency.startswith(SELECTOR_PREFIX):
        return describe_selector(dependency)
    folder, _ = DEPENDENCY_GROUPS[dependency]
    return f"{dependency} ({folder}/)"


def chapter_fingerprint(root: Path, groups: tuple[str, ...], known: dict[str, str] | None = None) -> str:
    """The fingerprint of a chapter's dependencies (``known``: fingerprints already computed)."""
    digest = hashlib.sha256()
    for group in groups:
        digest.update((known[group] if known and group in known else dependency_fingerprint(root, group)).encode())
    return digest.hexdigest()[:16]


def inject_fingerprint(source: str, fingerprint: str) -> str:
    """Write the fingerprint as a comment at the top of the first code cell's code."""
    match = _CODE_CELL.search(source)
    if not match:
        return source
    lines = source[match.end() :].split("\n")
    # lines[0] is the rest of the fence line (the kernel name); skip the cell's options
    index = 1
    if index < len(lines) and lines[index].strip() == "---":
        index += 1
        while index < len(lines) and lines[index].strip() != "---":
            index += 1
        index += 1
    else:
        while index < len(lines) and lines[index].startswith(":"):
            index += 1
    lines.insert(index, FINGERPRINT_PREFIX + fingerprint)
    return source[: match.end()] + "\n".join(lines)


def validation_key() -> str:
    """A hash of everything validation reads: the data folder, the package (its rules) and
    the BibTeX file (sidecars must cite keys in it)."""
    root = paths.project_root()
    digest = hashlib.sha256()
    bib = root / "book" / "references.bib"
    package = Path(__file__).resolve().parents[1]
    files = [
        p
        for folder in (paths.data_dir().resolve(), package)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]
    for path in [*files, bib]:
        digest.update(str(path).encode() + b"\0")
        digest.update((path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()


def all_inputs_fingerprint(root: Path) -> str:
    """The fingerprint of every input (all data groups and the package): the watermark of
    pages without code, and of the PDF."""
    return chapter_fingerprint(root, DEFAULT_GROUPS)


def chapter_inputs(root: Path, docs: dict[str, Path], known: dict[str, str] | None = None) -> dict[str, dict]:
    """Per chapter (docname → source file): its dependency groups and input fingerprint
    (``known``: group fingerprints already computed)."""
    known = dict(known or {})
    out = {}
    for docname, source_path in sorted(docs.items()):
        try:
            groups = chapter_dependencies(source_path.read_text(encoding="utf-8"))
        except OSError:
            continue
        if groups is None:
            continue
        try:
            source = source_path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            source = str(source_path)
        for group in groups:
            if group not in known:
                known[group] = dependency_fingerprint(root, group)
        out[docname] = {
            "source": source,
            "source_sha": hashlib.sha256(source_path.read_bytes()).hexdigest()[:16],
            "groups": list(groups),
            "group_fingerprints": {g: known[g][:16] for g in groups},
            "fingerprint": chapter_fingerprint(root, groups, known),
        }
    return out
