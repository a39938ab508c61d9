"""Building a temporary copy of the repository (a reduced table of contents, the copy's own
package on the path) and reading what the build did, for the build-tier tests."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from nkreport import paths
from nkreport.build import fingerprints as hooks

ROOT = paths.project_root()
TOC = """format: jb-book
root: book/index
parts:
  - caption: What the trial showed
    numbered: true
    chapters:
      - file: book/01_trial
      - file: book/02_evidence
  - caption: Appendices
    chapters:
      - file: book/appendix_adding_cohort
      - file: book/appendix_data_dictionary
      - file: book/appendix_glossary
      - file: book/status
      - file: book/bibliography
"""
TOC_DOCS = [
    "book/index",
    "book/01_trial",
    "book/02_evidence",
    "book/appendix_adding_cohort",
    "book/appendix_data_dictionary",
    "book/appendix_glossary",
    "book/status",
    "book/bibliography",
]

# TEST FIXTURE, not data: a hypothetical external BSI baseline added to the copy only.
FIXTURE_CSV = (
    "cohort_id,study_id,study,arm,role,outcome,events,n,window_days,printed_percent,design,use,source,location,verified,note\n"
    "fixture_bsi,fixture,TEST FIXTURE (not data),control,external_baseline,bsi,10,100,30,,test fixture,primary,"
    "doi:10.0000/test-fixture,test fixture,unverified,test fixture for the incremental-build test\n"
)
FIXTURE_SIDECAR = {
    "title": "TEST FIXTURE: a hypothetical external BSI baseline (not data).",
    "references": ["test_fixture"],
    "columns": FIXTURE_CSV.splitlines()[0].split(","),
    "cohort_ids": ["fixture_bsi"],
}
FIXTURE_BIB = (
    "\n@misc{test_fixture,\n  title = {Test fixture of the incremental-build test (not a study)},\n  year = {2026}\n}\n"
)

# a chapter runs either in the extension's parallel pass before reading or in myst-nb while reading
_EXECUTING = re.compile(r"^(\S+\.md): Executing notebook", re.MULTILINE)
_PRE_EXECUTED = re.compile(r"^\[nkreport\] executed (\S+) in ", re.MULTILINE)
_REREADING = re.compile(r"\[nkreport\] inputs changed; re-reading: (.+)$", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def copy_repository(target: Path) -> Path:
    ignore = shutil.ignore_patterns(
        "_build", ".git", ".hypothesis", "__pycache__", "*.egg-info", ".pytest_cache", "_work", ".ipynb_checkpoints"
    )
    shutil.copytree(ROOT, target, ignore=ignore)
    (target / "toc.yml").write_text(TOC, encoding="utf-8")
    with (target / "book" / "references.bib").open("a", encoding="utf-8") as bib:
        bib.write(FIXTURE_BIB)
    return target


def build(
    project: Path,
    output: Path | None = None,
    workers: int = 2,
    builder: str | None = None,
    data_dir: Path | None = None,
) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NKREPORT_DATA",)}
    if data_dir is not None:
        env["NKREPORT_DATA"] = str(data_dir)
    env["NKREPORT_EXECUTION_WORKERS"] = str(workers)
    # the copy's own package, not the working tree's, runs the hooks and the chapters
    env.update(
        NKREPORT_ROOT=str(project),
        PYTENSOR_FLAGS="blas__ldflags=",
        PYTHONPATH=os.pathsep.join([str(project)] + [p for p in [env.get("PYTHONPATH")] if p]),
    )
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(exe) if exe.exists() else "jupyter-book",
        "build",
        str(project),
        "-W",
        "-n",
        "--keep-going",
        "--toc",
        str(project / "toc.yml"),
    ]
    if output is not None:
        command += ["--path-output", str(output)]
    if builder is not None:
        command += ["--builder", builder]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    return done.returncode, _ANSI.sub("", done.stdout + done.stderr)


def notebook_docs(project: Path, docs: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    """Docname → dependency groups, for the toc's chapters (``docs``, default the reduced
    toc's) that have code cells."""
    out = {}
    for doc in docs or TOC_DOCS:
        groups = hooks.chapter_dependencies((project / f"{doc}.md").read_text(encoding="utf-8"))
        if groups is not None:
            out[doc] = groups
    return out


def executed_while_reading(project: Path, log: str) -> set[str]:
    return {
        Path(m).resolve().relative_to(project.resolve()).with_suffix("").as_posix() for m in _EXECUTING.findall(log)
    }


def executed(project: Path, log: str, docs: list[str] | None = None) -> set[str]:
    """Chapters executed by this build, in the parallel pass or while reading."""
    found = executed_while_reading(project, log) | set(_PRE_EXECUTED.findall(log))
    return found & set(notebook_docs(project, docs))


def reread(log: str) -> set[str]:
    return {doc.strip() for line in _REREADING.findall(log) for doc in line.split(",")}


def results(build_dir: Path) -> dict:
    return json.loads((build_dir / "html" / "results.json").read_text(encoding="utf-8"))


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
