"""Rebuilds of the book are correct: a data change re-executes exactly the chapters that read
the changed data, the result equals a clean build, and invalid data stops the build before any
chapter runs while the last good HTML stays as it was.

Each test builds a temporary copy of the repository with a reduced table of contents (the
trial, the evidence, the two data appendices), so it is fast and independent of the other
chapters.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nkreport import paths
from nkreport import sphinx as hooks

pytestmark = pytest.mark.book

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
      - file: book/status
      - file: book/bibliography
"""
TOC_DOCS = ["book/index", "book/01_trial", "book/02_evidence", "book/appendix_adding_cohort",
            "book/appendix_data_dictionary", "book/status", "book/bibliography"]

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
FIXTURE_BIB = "\n@misc{test_fixture,\n  title = {Test fixture of the incremental-build test (not a study)},\n  year = {2026}\n}\n"

# a chapter runs either in the extension's parallel pass before reading or in myst-nb while reading
_EXECUTING = re.compile(r"^(\S+\.md): Executing notebook", re.MULTILINE)
_PRE_EXECUTED = re.compile(r"^\[nkreport\] executed (\S+) in ", re.MULTILINE)
_REREADING = re.compile(r"\[nkreport\] inputs changed; re-reading: (.+)$", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def copy_repository(target: Path) -> Path:
    ignore = shutil.ignore_patterns("_build", ".git", ".hypothesis", "__pycache__", "*.egg-info",
                                    ".pytest_cache", "_work", ".ipynb_checkpoints")
    shutil.copytree(ROOT, target, ignore=ignore)
    (target / "toc.yml").write_text(TOC, encoding="utf-8")
    with (target / "book" / "references.bib").open("a", encoding="utf-8") as bib:
        bib.write(FIXTURE_BIB)
    return target


def build(project: Path, output: Path | None = None, workers: int = 2, builder: str | None = None,
          data_dir: Path | None = None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NKREPORT_DATA",)}
    if data_dir is not None:
        env["NKREPORT_DATA"] = str(data_dir)
    env["NKREPORT_EXECUTION_WORKERS"] = str(workers)
    # the copy's own package, not the working tree's, runs the hooks and the chapters
    env.update(NKREPORT_ROOT=str(project), PYTENSOR_FLAGS="blas__ldflags=",
               PYTHONPATH=os.pathsep.join([str(project)] + [p for p in [env.get("PYTHONPATH")] if p]))
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book", "build", str(project), "-W", "-n", "--keep-going",
               "--toc", str(project / "toc.yml")]
    if output is not None:
        command += ["--path-output", str(output)]
    if builder is not None:
        command += ["--builder", builder]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    return done.returncode, _ANSI.sub("", done.stdout + done.stderr)


def notebook_docs(project: Path) -> dict[str, tuple[str, ...]]:
    """Docname → dependency groups, for the toc's chapters that have code cells."""
    out = {}
    for doc in TOC_DOCS:
        groups = hooks.chapter_dependencies((project / f"{doc}.md").read_text(encoding="utf-8"))
        if groups is not None:
            out[doc] = groups
    return out


def executed_while_reading(project: Path, log: str) -> set[str]:
    return {Path(m).resolve().relative_to(project.resolve()).with_suffix("").as_posix() for m in _EXECUTING.findall(log)}


def executed(project: Path, log: str) -> set[str]:
    """Chapters executed by this build, in the parallel pass or while reading."""
    docs = executed_while_reading(project, log) | set(_PRE_EXECUTED.findall(log))
    return docs & set(notebook_docs(project))


def reread(log: str) -> set[str]:
    return {doc.strip() for line in _REREADING.findall(log) for doc in line.split(",")}


def results(build_dir: Path) -> dict:
    return json.loads((build_dir / "html" / "results.json").read_text(encoding="utf-8"))


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_incremental_rebuild_reexecutes_exactly_the_readers_and_equals_clean_build(tmp_path):
    project = copy_repository(tmp_path / "repo")
    readers = {doc for doc, groups in notebook_docs(project).items() if "cohorts" in groups}
    trial_readers = {doc for doc, groups in notebook_docs(project).items() if "trial" in groups}
    assert readers and trial_readers and trial_readers != set(notebook_docs(project))

    code, log = build(project)
    assert code == 0, log[-3000:]
    assert executed(project, log) == set(notebook_docs(project))
    # the parallel pass stored every run under the key myst-nb computes: nothing runs twice
    assert executed_while_reading(project, log) == set()
    first = results(project / "_build")

    code, log = build(project)  # nothing changed: everything from the cache
    assert code == 0, log[-3000:]
    assert executed(project, log) == set() and reread(log) == set()

    cohorts = project / "data" / "cohorts"
    (cohorts / "fixture_test.csv").write_text(FIXTURE_CSV, encoding="utf-8")
    (cohorts / "fixture_test.json").write_text(json.dumps(FIXTURE_SIDECAR, indent=2), encoding="utf-8")
    code, log = build(project)
    assert code == 0, log[-3000:]
    # pages without code are read again too: their footer shows the fingerprint of all inputs
    assert reread(log) == readers | (set(TOC_DOCS) - set(notebook_docs(project)))
    assert executed(project, log) == readers
    second = results(project / "_build")
    assert second["results"]["evidence_rows"]["value"] == first["results"]["evidence_rows"]["value"] + 1
    assert second["results"]["tut_rows_before"]["value"] == first["results"]["tut_rows_before"]["value"] + 1

    # a change in the trial's files only: only the chapters reading them run again
    design = project / "data" / "trial" / "design.csv"
    design.write_text(design.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    code, log = build(project)
    assert code == 0, log[-3000:]
    assert executed(project, log) == trial_readers

    # the incremental result equals a clean build of the same tree, executed one chapter at a
    # time by myst-nb alone (so parallel and serial execution give the same results)
    clean = tmp_path / "clean"
    code, log = build(project, output=clean, workers=1)
    assert code == 0, log[-3000:]
    assert executed_while_reading(project, log) == set(notebook_docs(project))
    assert results(project / "_build") == results(clean / "_build")
    recorded = json.loads((project / "_build" / hooks.INPUTS_FILE).read_text())
    assert recorded == json.loads((clean / "_build" / hooks.INPUTS_FILE).read_text())


def test_invalid_data_stops_before_execution_and_keeps_last_html(tmp_path):
    project = copy_repository(tmp_path / "repo")
    code, log = build(project)
    assert code == 0, log[-3000:]
    html = project / "_build" / "html"
    before = tree_hashes(html)
    assert "results.json" in before

    broken = project / "data" / "cohorts" / "hiroshima2011_matched.csv"
    broken.write_text(broken.read_text(encoding="utf-8").replace(",1,21,90,", ",25,21,90,"), encoding="utf-8")
    code, log = build(project)
    assert code != 0
    assert "data/cohorts/hiroshima2011_matched.csv, line 2, field 'events': 25 is greater than n = 21" in log
    assert "Fix:" in log
    assert _EXECUTING.findall(log) == []
    assert tree_hashes(html) == before

    code, log = build(project)  # still broken: still nothing touched
    assert code != 0 and tree_hashes(html) == before


def test_a_failing_chapter_fails_the_build_with_its_traceback(tmp_path):
    """A chapter that fails in the parallel pass is not cached; myst-nb runs it again while
    reading and the build stops with the cell's error, as without the parallel pass."""
    project = copy_repository(tmp_path / "repo")
    chapter = project / "book" / "02_evidence.md"
    text = chapter.read_text(encoding="utf-8")
    cell = text.index("```{code-cell} ipython3\n:tags: [remove-cell]\n") + len("```{code-cell} ipython3\n:tags: [remove-cell]\n")
    chapter.write_text(text[:cell] + 'raise RuntimeError("test fixture: a failing cell")\n' + text[cell:], encoding="utf-8")
    code, log = build(project)
    assert code != 0
    assert "[nkreport] book/02_evidence failed" in log
    assert "RuntimeError: test fixture: a failing cell" in log
    assert not (project / "_build" / "html" / "results.json").exists()
