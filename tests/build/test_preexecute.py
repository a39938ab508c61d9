"""The parallel pass's order and settings (its effect on a real build is tested in
test_incremental.py: same results as serial execution, nothing executed twice, failures
reported)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sphinx.errors import ExtensionError

from nkreport.build import preexecute
from nkreport.build.preexecute import Job


def job(name: str, after=(), seconds: float = 0.0) -> Job:
    return Job(
        name,
        Path(f"/book/{name}.md"),
        notebook=None,
        timeout=None,
        allow_errors=False,
        after=set(after),
        last_seconds=seconds,
    )


def test_chapters_others_wait_for_start_first_then_the_longest_then_the_waiting_ones():
    jobs = {
        j.docname: j
        for j in [
            job("book/01_trial", seconds=3),
            job("book/05_stop", seconds=7),
            job("book/06_map"),
            job("book/07_updating", after=["book/06_map"]),
            job("book/08_comparative"),
            job("book/09_sensitivity", after=["book/08_comparative"]),
            job("book/10_next", after=["book/08_comparative"]),
        ]
    }
    order = preexecute.schedule(jobs)
    assert order[:2] == ["book/08_comparative", "book/06_map"]
    assert order[2:4] == ["book/05_stop", "book/01_trial"]  # recorded runs, longest first
    # without a recorded run, chapters that reuse a stored fit come before the other chapters
    assert order[4:] == ["book/07_updating", "book/09_sensitivity", "book/10_next"]


def test_without_recorded_runs_chapters_that_wait_come_first():
    jobs = {j.docname: j for j in [job("b/01"), job("b/06"), job("b/07", after=["b/06"]), job("b/02")]}
    assert preexecute.schedule(jobs) == ["b/06", "b/07", "b/01", "b/02"]


def test_a_recorded_run_outranks_waiting():
    jobs = {
        j.docname: j for j in [job("a"), job("b", after=["a"]), job("c", seconds=9), job("d", after=["a"], seconds=20)]
    }
    assert preexecute.schedule(jobs) == ["a", "d", "c", "b"]


def test_waiting_counts_are_transitive():
    jobs = {j.docname: j for j in [job("a"), job("b", after=["a"]), job("c", after=["b"]), job("d", after=["d0"])]}
    assert preexecute.schedule(jobs)[0] == "a"  # d0 is not executed in this build, so it is not counted


def test_after_names_resolve_relative_to_the_chapter_folder():
    known = {"book/06_map_prior", "book/07_updating", "index"}
    assert preexecute.resolve_after("book/07_updating", ["06_map_prior"], known) == {"book/06_map_prior"}
    assert preexecute.resolve_after("book/07_updating", ["06_map_prior.md"], known) == {"book/06_map_prior"}
    with pytest.raises(ExtensionError, match="not a chapter of the book"):
        preexecute.resolve_after("book/07_updating", ["06_map"], known)
    with pytest.raises(ExtensionError, match="must be a list"):
        preexecute.resolve_after("book/07_updating", "06_map_prior", known)


def test_cycles_are_refused_with_their_path():
    jobs = {j.docname: j for j in [job("a", after=["c"]), job("b", after=["a"]), job("c", after=["b"])]}
    with pytest.raises(ExtensionError, match="cycle: a -> c -> b -> a"):
        preexecute.check_cycles(jobs)


def test_worker_count_from_the_environment(monkeypatch):
    monkeypatch.setenv(preexecute.WORKERS_ENV, "3")
    assert preexecute.workers() == 3
    monkeypatch.setenv(preexecute.WORKERS_ENV, "zero")
    with pytest.raises(ExtensionError, match="whole number"):
        preexecute.workers()
    monkeypatch.setenv(preexecute.WORKERS_ENV, "0")
    with pytest.raises(ExtensionError, match="at least 1"):
        preexecute.workers()
    monkeypatch.delenv(preexecute.WORKERS_ENV)
    assert 1 <= preexecute.workers() <= preexecute.MAX_DEFAULT_WORKERS


def test_the_books_order_declarations_name_real_chapters(root):
    """Every chapter that reuses a stored fit names the chapter that makes it."""
    declared = {}
    for path in sorted((root / "book").glob("*.md")):
        for line in path.read_text(encoding="utf-8").split("\n---", 1)[0].splitlines():
            if line.startswith(preexecute.AFTER_KEY + ":"):
                names = line.split(":", 1)[1].split("#")[0].strip().strip("[]").split(",")
                declared[path.stem] = {n.strip() for n in names if n.strip()}
    assert declared == {
        "07_updating": {"06_map_prior"},
        "09_sensitivity": {"08_comparative"},
        "10_next_trial": {"08_comparative"},
    }
    for names in declared.values():
        assert all((root / "book" / f"{name}.md").is_file() for name in names)
