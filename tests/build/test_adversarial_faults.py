"""Adversarial corpus, class 7: faults and staleness. A build interrupted at any point is
repaired by one plain rebuild; an incremental build's site equals a clean build's (no stale
figure, watermark or search term); the data folder's location is part of every fingerprint;
records are written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from nkreport import paths  # noqa: E402
from nkreport.build import fingerprints as hooks  # noqa: E402

from buildcopy import FIXTURE_CSV, FIXTURE_SIDECAR, build, copy_repository, executed  # noqa: E402

pytestmark = pytest.mark.book

#: The page that reports execution times and dates: it differs between any two builds.
STATISTICS_PAGE = "book/status"


def _search_index(html: Path) -> dict:
    text = (html / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    skip = index["docnames"].index(STATISTICS_PAGE) if STATISTICS_PAGE in index["docnames"] else None

    def postings(value):
        items = value if isinstance(value, list) else [value]
        return sorted(i for i in items if i != skip)

    terms = {term: postings(value) for term, value in index["terms"].items()}
    return {"docnames": index["docnames"], "titles": index["titles"], "terms": {t: p for t, p in terms.items() if p}}


#: Sphinx appends ``?v=<checksum>`` to a static file's link once the file exists in the output;
#: myst-nb writes its stylesheet at the end of a build, so only later builds link it that way.
_CHECKSUM_QUERY = re.compile(rb"\?v=[0-9a-f]{8}")


def _digest(path: Path) -> str:
    content = path.read_bytes()
    if path.suffix == ".html":
        content = _CHECKSUM_QUERY.sub(b"", content)
    return hashlib.sha256(content).hexdigest()


def comparable_site(html: Path) -> dict:
    """Every file of the site by hash, the statistics page and the search index aside (the
    index is compared term by term without the statistics page's postings)."""
    files = {p.relative_to(html).as_posix(): _digest(p) for p in sorted(html.rglob("*")) if p.is_file()}
    files.pop(f"{STATISTICS_PAGE}.html", None)
    files.pop("searchindex.js", None)
    return {"files": files, "search": _search_index(html)}


def assert_same_site(incremental: Path, clean: Path) -> None:
    a, b = comparable_site(incremental), comparable_site(clean)
    assert set(a["files"]) == set(b["files"]), sorted(set(a["files"]) ^ set(b["files"]))
    assert [f for f in a["files"] if a["files"][f] != b["files"][f]] == []
    assert a["search"] == b["search"]


def _add_fixture(project: Path) -> None:
    cohorts = project / "data" / "cohorts"
    (cohorts / "fixture_test.csv").write_text(FIXTURE_CSV, encoding="utf-8")
    (cohorts / "fixture_test.json").write_text(json.dumps(FIXTURE_SIDECAR, indent=2), encoding="utf-8")


def _remove_fixture(project: Path) -> None:
    for suffix in (".csv", ".json"):
        (project / "data" / "cohorts" / f"fixture_test{suffix}").unlink()


def test_a_build_killed_while_writing_is_repaired_by_one_plain_rebuild(tmp_path):
    project = copy_repository(tmp_path / "repo")
    code, log = build(project)
    assert code == 0, log[-3000:]
    html = project / "_build" / "html"
    # what a build killed while Sphinx writes leaves: the mark of an unfinished build, pages
    # and images missing or cut short, an old search index
    (project / "_build" / hooks.INCOMPLETE_MARK).write_text("started\n", encoding="utf-8")
    (html / "book" / "02_evidence.html").write_text("<html><body>cut sho", encoding="utf-8")
    (html / "book" / "01_trial.html").unlink()
    for image in list((html / "_images").iterdir())[:3]:
        image.unlink()
    (html / "searchindex.js").write_text("Search.setIndex({", encoding="utf-8")
    (project / "_build" / hooks.INPUTS_FILE).write_text('{"chapters": {"bo', encoding="utf-8")

    code, log = build(project)
    assert code == 0, log[-3000:]
    assert executed(project, log) == set()  # execution results still come from the cache
    assert not (project / "_build" / hooks.INCOMPLETE_MARK).exists()
    clean = tmp_path / "clean"
    code, log = build(project, output=clean)
    assert code == 0, log[-3000:]
    assert_same_site(html, clean / "_build" / "html")


def test_incremental_site_equals_clean_site_after_a_cohort_comes_and_goes(tmp_path):
    project = copy_repository(tmp_path / "repo")
    assert build(project)[0] == 0
    html = project / "_build" / "html"
    _add_fixture(project)
    code, log = build(project)
    assert code == 0, log[-3000:]
    with_fixture = set((html / "_images").iterdir())
    _remove_fixture(project)
    code, log = build(project)
    assert code == 0, log[-3000:]
    assert set((html / "_images").iterdir()) != with_fixture
    clean = tmp_path / "clean"
    assert build(project, output=clean)[0] == 0
    assert_same_site(html, clean / "_build" / "html")
    # every page carries the watermark of the current inputs
    marks = {
        re.search(r'nkreport-watermark">([^<]*)<', p.read_text(encoding="utf-8")).group(1)
        for p in html.rglob("*.html")
        if "nkreport-watermark" in p.read_text(encoding="utf-8")
    }
    clean_marks = {
        re.search(r'nkreport-watermark">([^<]*)<', p.read_text(encoding="utf-8")).group(1)
        for p in (clean / "_build" / "html").rglob("*.html")
        if "nkreport-watermark" in p.read_text(encoding="utf-8")
    }
    assert marks == clean_marks


def test_a_data_folder_elsewhere_is_fingerprinted_where_it_is(tmp_path):
    project = copy_repository(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere" / "data"
    shutil.copytree(project / "data", elsewhere)
    code, log = build(project, data_dir=elsewhere)
    assert code == 0, log[-3000:]
    first = json.loads((project / "_build" / "html" / "results.json").read_text(encoding="utf-8"))
    (elsewhere / "cohorts" / "fixture_test.csv").write_text(FIXTURE_CSV, encoding="utf-8")
    (elsewhere / "cohorts" / "fixture_test.json").write_text(json.dumps(FIXTURE_SIDECAR), encoding="utf-8")
    code, log = build(project, data_dir=elsewhere)
    assert code == 0, log[-3000:]
    assert executed(project, log)  # the changed data elsewhere re-executed its readers
    second = json.loads((project / "_build" / "html" / "results.json").read_text(encoding="utf-8"))
    assert second["results"]["evidence_rows"]["value"] == first["results"]["evidence_rows"]["value"] + 1
    assert second["inputs"]["cohorts"] != first["inputs"]["cohorts"]


def test_records_are_replaced_whole(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_text("old", encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(paths.os, "replace", fail)
    with pytest.raises(OSError):
        paths.write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temporary file left
