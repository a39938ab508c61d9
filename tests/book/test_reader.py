"""The built book as a reader meets it: tables and equations that fit the page, typography, a
way in from the home page, no accessibility violation, and a PDF without lines in the margin.

The layout and accessibility checks open every page in headless Chromium (``tests/chromium.py``)
at 1400 px, the width of a desktop window; axe-core is the accessibility engine
(``.ci/install-system.sh`` installs it). Build the HTML (and for the last checks the PDF) first.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from chromium import _browser_session, _serve, axe_violations, layout

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NKREPORT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"
LATEX = BUILD / "latex"
DESKTOP = 1400
#: Overfull boxes wider than this many points in the LaTeX log fail the PDF.
OVERFULL_POINTS = 5.0
_NOT_PROSE = ("script", "style", "code", "pre", "kbd", "samp", "math", "mjx-container")
_SPACE_BEFORE_PERCENT = re.compile(r"\d[ \t\n]+%")


def _require_html() -> None:
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built HTML book at {HTML}: run `jupyter-book build .` first")


def _pages() -> list[str]:
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if p.relative_to(HTML).parts[0] not in ("_static", "_sources")
    )


def _soup(page: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup((HTML / page).read_text(encoding="utf-8"), "html.parser")


def _home() -> str:
    """The home page (the site's index.html may only redirect to it)."""
    for page in ("book/index.html", "index.html"):
        if (HTML / page).exists() and _soup(page).select_one("article, main"):
            return page
    return "index.html"


@pytest.fixture(scope="module")
def desktop_layout() -> dict:
    _require_html()
    server, origin = _serve(HTML)
    try:
        with _browser_session() as (tools, session):
            return {page: layout(tools, session, f"{origin}/{page}", origin, DESKTOP) for page in _pages()}
    finally:
        server.shutdown()


def test_no_table_needs_horizontal_scrolling_and_no_caption_is_clipped_at_1400px(desktop_layout):
    scrolling = {
        page: [f"{t['name']} ({t['content']} px in {t['room']} px)" for t in r["tables"] if t["scrolls"]]
        for page, r in desktop_layout.items()
    }
    clipped = {page: [t["name"] for t in r["tables"] if t["clipped"]] for page, r in desktop_layout.items()}
    assert not {p: v for p, v in scrolling.items() if v}, json.dumps(scrolling, indent=1)
    assert not {p: v for p, v in clipped.items() if v}, json.dumps(clipped, indent=1)
    assert any(r["tables"] for r in desktop_layout.values()), "no table was measured"


def test_no_display_equation_overflows_at_1400px(desktop_layout):
    wide = {
        page: [f"{m['content']} px in {m['room']} px" for m in r["math"] if m["overflows"]]
        for page, r in desktop_layout.items()
    }
    assert not {p: v for p, v in wide.items() if v}, json.dumps(wide, indent=1)


def test_no_ordinary_space_between_a_number_and_percent():
    _require_html()
    found = {}
    for page in _pages():
        soup = _soup(page)
        for tag in soup.find_all(_NOT_PROSE):
            tag.decompose()
        main = soup.select_one("article") or soup
        hits = _SPACE_BEFORE_PERCENT.findall(main.get_text())
        if hits:
            found[page] = hits[:5]
    assert not found, found


def test_home_page_links_the_conclusion_and_the_pdf():
    _require_html()
    page = _home()
    links = [a.get("href", "") for a in (_soup(page).select_one("article") or _soup(page)).find_all("a")]
    assert any(href.split("#")[0].endswith("11_conclusion.html") for href in links), links
    assert any(href.split("#")[0].endswith("nkreport.pdf") for href in links), links


def test_home_page_gives_the_summary_of_findings_in_short_with_this_builds_numbers():
    _require_html()
    import json

    summary = _soup(_home()).select_one("ul.nkreport-short-summary")
    assert summary is not None, "the home page's short summary of findings is missing"
    text = summary.get_text(" ", strip=True)
    assert text.count("Certainty:") == 3
    assert "if the earlier retrospective comparisons are unbiased" in text  # the assumption, in the sentence
    results = json.loads((HTML / "results.json").read_text(encoding="utf-8"))["results"]
    for key in ("concl_pooled_with_ci", "concl_pooled_adjusted_ci", "concl_rejection_fraction", "concl_ae_upper"):
        assert results[key]["text"] in text, key


def test_every_page_links_the_pdf_and_the_link_reaches_it_once_published():
    _require_html()
    redirect = 'http-equiv="Refresh"'  # the site's index.html only forwards to the home page
    missing = [
        page
        for page in _pages()
        if not _soup(page).select("a.nkreport-pdf-link") and redirect not in (HTML / page).read_text(encoding="utf-8")
    ]
    assert not missing, missing
    if (LATEX / "nkreport.pdf").exists() and os.environ.get("CI"):
        published = HTML / "nkreport.pdf"
        assert published.is_file(), "CI publishes the PDF beside the HTML (.ci/run) before the tests"
        assert published.read_bytes() == (LATEX / "nkreport.pdf").read_bytes()


def test_no_serious_or_critical_accessibility_violation():
    _require_html()
    server, origin = _serve(HTML)
    try:
        with _browser_session() as (tools, session):
            found = {page: axe_violations(tools, session, f"{origin}/{page}", origin) for page in _pages()}
    finally:
        server.shutdown()
    found = {page: v for page, v in found.items() if v}
    assert not found, json.dumps(found, indent=1)


def test_no_line_runs_into_the_margin_of_the_pdf():
    log = LATEX / "nkreport.log"
    if not log.exists():
        if os.environ.get("CI"):
            pytest.fail("no LaTeX log: CI builds the PDF before the tests")
        pytest.skip("the PDF has not been built: jupyter-book build . --builder pdflatex")
    text = log.read_text(encoding="utf-8", errors="replace")
    overfull = [
        (float(points), context.strip()[:120])
        for points, context in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*\n([^\n]*)", text)
    ]
    wide = [item for item in overfull if item[0] > OVERFULL_POINTS]
    assert not wide, f"{len(wide)} overfull boxes over {OVERFULL_POINTS} pt: {wide[:8]}"
