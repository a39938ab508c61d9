"""Rebuilds of the book are correct: a data change re-executes exactly the chapters that read
the changed data, the result equals a clean build, and invalid data stops the build before any
chapter runs while the last good HTML stays as it was.

Each test builds a temporary copy of the repository with a reduced table of contents (the
trial, the evidence, the two data appendices), so it is fast and independent of the other
chapters.
"""

from __future__ import annotations

import json

import pytest

from nkreport.build import fingerprints as hooks

from buildcopy import (
    _EXECUTING,
    FIXTURE_CSV,
    FIXTURE_SIDECAR,
    TOC_DOCS,
    build,
    copy_repository,
    executed,
    executed_while_reading,
    notebook_docs,
    reread,
    results,
    tree_hashes,
)

pytestmark = pytest.mark.book


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
    cell = text.index("```{code-cell} ipython3\n:tags: [remove-cell]\n") + len(
        "```{code-cell} ipython3\n:tags: [remove-cell]\n"
    )
    chapter.write_text(
        text[:cell] + 'raise RuntimeError("test fixture: a failing cell")\n' + text[cell:], encoding="utf-8"
    )
    code, log = build(project)
    assert code != 0
    assert "[nkreport] book/02_evidence failed" in log
    assert "RuntimeError: test fixture: a failing cell" in log
    assert not (project / "_build" / "html" / "results.json").exists()
