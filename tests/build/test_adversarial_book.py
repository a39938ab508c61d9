"""Adversarial corpus, class 6: hostile strings that are legal data, through a real build.

A copy of the repository gets one extra cohort file whose study labels and locations are
markup in MyST, Jinja, HTML, LaTeX and mathtext (a TEST FIXTURE, not data), and is built with a
reduced table of contents of the build tests (the trial, the evidence, the appendices). The built site must
show every payload as the characters typed: no script runs in Chromium, no link has a
``javascript:`` target, no file from outside the project is copied into ``_build`` or appears
in a page, no shell command ran; and, where TeX is installed, the PDF prints the payloads as
text and includes no outside file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.book

from nkreport import paths  # noqa: E402

from buildcopy import build, copy_repository  # noqa: E402

ROOT = paths.project_root()
HEADER = (
    "cohort_id,study_id,study,arm,role,outcome,events,n,window_days,printed_percent,design,use,"
    "source,location,verified,note"
)


def payloads(outside: Path, canary: Path) -> list[tuple[str, str]]:
    """(study label, location) pairs; each is legal data and markup somewhere."""
    return [
        ("{{ 7 * 191 }} jinja", "{{ env.__class__.__init__.__globals__['os'].system('touch " + str(canary) + "') }}"),
        ("<script>window.__nkreport_pwned=1</script>", "<img src=x onerror=\"window.__nkreport_pwned=2\">"),
        ("[click](javascript:window.__nkreport_pwned=3)", "<javascript:window.__nkreport_pwned=4>"),
        (
            "{download}`" + str(outside / "secret.txt") + "`",
            ":::{warning}\ninjected admonition\n:::".replace("\n", " "),
        ),
        ("Bad $x^$ label", "{math}`\\input{" + str(outside / "secret.tex") + "}` \\write18{touch " + str(canary) + "}"),
        ("a | b ``` c &amp; d", "```{include} " + str(outside / "secret.txt") + " ```"),
    ]


def hostile_project(tmp_path: Path) -> tuple[Path, Path, Path, list[tuple[str, str]]]:
    project = copy_repository(tmp_path / "repo")  # reduced toc; the bibliography has test_fixture
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("NKREPORT-OUTSIDE-SECRET-7f3a\n", encoding="utf-8")
    (outside / "secret.tex").write_text("NKREPORT-OUTSIDE-SECRET-7f3a\n", encoding="utf-8")
    canary = tmp_path / "pwned"
    pairs = payloads(outside, canary)
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    ids = []
    for index, (study, location) in enumerate(pairs):
        cohort_id = f"hostile{index}_bsi"
        ids.append(cohort_id)
        writer.writerow(
            [
                cohort_id,
                f"hostile{index}",
                study,
                "control",
                "external_baseline",
                "bsi",
                "10",
                "100",
                "30",
                "",
                "test fixture",
                "primary",
                "doi:10.0000/test-fixture",
                location,
                "unverified",
                "TEST FIXTURE, not data",
            ]
        )
    (project / "data" / "cohorts" / "hostile.csv").write_text(buffer.getvalue(), encoding="utf-8")
    sidecar = {
        "title": "TEST FIXTURE: hostile but legal labels (not data).",
        "references": ["test_fixture"],
        "columns": HEADER.split(","),
        "cohort_ids": ids,
    }
    (project / "data" / "cohorts" / "hostile.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return project, outside, canary, pairs


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hostile")
    project, outside, canary, pairs = hostile_project(tmp_path)
    code, log = build(project)
    assert code == 0, log[-4000:]
    return project, outside, canary, pairs


def _all_build_files(project: Path):
    return [p for p in (project / "_build").rglob("*") if p.is_file()]


def test_no_command_ran_and_no_outside_file_was_copied(hostile_build):
    project, outside, canary, _ = hostile_build
    assert not canary.exists(), "a data string ran a shell command during the build"
    for path in _all_build_files(project):
        if path.suffix in (".html", ".txt", ".tex", ".json", ".js", ".ipynb", ".md"):
            assert "NKREPORT-OUTSIDE-SECRET" not in path.read_text(encoding="utf-8", errors="replace"), path
    assert not [p for p in _all_build_files(project) if p.name.startswith("secret")]


def test_every_payload_is_shown_as_typed_in_the_evidence_table(hostile_build):
    from bs4 import BeautifulSoup

    project, _, _, pairs = hostile_build
    page = BeautifulSoup(
        (project / "_build" / "html" / "book" / "02_evidence.html").read_text(encoding="utf-8"), "html.parser"
    )
    table, sources = page.find(id="tbl-cohorts"), page.find(id="tbl-cohort-sources")
    assert table is not None and sources is not None
    cells = [" ".join(td.get_text().split()) for td in table.find_all("td")]
    source_cells = [" ".join(td.get_text().split()) for td in sources.find_all("td")]
    for study, location in pairs:
        assert " ".join(study.split()) in cells, study
        assert " ".join(study.split()) in source_cells, study
        assert " ".join(location.split()) in source_cells, location
    for shown in (table, sources):
        assert not shown.find_all(["script", "img", "iframe", "object"])
        assert [a.get("class") for a in shown.find_all("a")] == [["headerlink"]]
    assert not [s for s in page.find_all("script") if "__nkreport_pwned" in (s.string or "") + str(s.attrs)]
    assert not page.find_all(attrs={"onerror": True})
    assert not [a for a in page.find_all("a", href=True) if a["href"].strip().lower().startswith("javascript")]
    for shown in (table, sources):
        assert "1337" not in shown.get_text()  # {{ 7 * 191 }} was not evaluated
        assert not shown.find_all(class_="admonition") and not shown.find_all(class_="math")


def test_no_script_runs_in_chromium(hostile_build):
    import chromium as browser

    project, *_ = hostile_build
    server, origin = browser._serve(project / "_build" / "html")
    try:
        with browser._browser_session() as (tools, session):
            visit = browser._visit(tools, session, f"{origin}/book/02_evidence.html", origin)
            flag = tools.send(
                "Runtime.evaluate", {"expression": "String(window.__nkreport_pwned)", "returnByValue": True}, session
            )
    finally:
        server.shutdown()
    assert flag["result"]["value"] == "undefined"
    assert not [p for p in visit["problems"] if "javascript" in p.lower() or "pwned" in p]


def test_the_pdf_prints_the_payloads_as_text(hostile_build):
    project, _, canary, pairs = hostile_build
    if shutil.which("xelatex") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("TeX or poppler is missing (CI installs them with .ci/install-system.sh)")
        pytest.skip("TeX or poppler is not installed")
    code, log = build(project, builder="pdflatex")
    assert code == 0, log[-4000:]
    tex = (project / "_build" / "latex" / "nkreport.tex").read_text(encoding="utf-8")
    assert "\\input{" + str(project.parent / "outside") not in tex and "\\write18{" not in tex
    text = subprocess.run(
        ["pdftotext", "-layout", str(project / "_build" / "latex" / "nkreport.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "NKREPORT-OUTSIDE-SECRET" not in text
    assert "Bad $x^$ label" in text and "window.__nkreport_pwned" in text
    assert not canary.exists()
