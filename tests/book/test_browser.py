"""The built HTML book in a real browser: headless Chromium over every page.

Every page of ``_build/html`` is served from a local HTTP server on 127.0.0.1 and opened in
headless Chromium, driven through the Chrome DevTools protocol. A page passes when it logs no
console error and throws no exception, no request fails or goes to another host, every image
loads, every internal link reaches an existing file and every ``#anchor`` exists on its page.

The build folder is ``_build`` (``NKREPORT_BUILD_DIR`` overrides it); build the book first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from chromium import _browser_session, _serve, _visit

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NKREPORT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"


@pytest.fixture(scope="module")
def browser_report() -> dict:
    """Every page of the built HTML, visited once: {page path: visit result}."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built HTML book at {HTML}: run `jupyter-book build .` first")
    server, origin = _serve(HTML)
    report: dict[str, dict] = {}
    try:
        with _browser_session() as (tools, session):
            for relative in _page_paths():
                report[relative] = _visit(tools, session, f"{origin}/{relative}", origin)
    finally:
        server.shutdown()
    report["__origin__"] = {"origin": origin}
    return report


def test_pages_opened_from_disk_are_complete():
    """A reader opening the files from disk (file://, no server, no network) sees every page
    whole: images loaded, math typeset, nothing fetched from another host."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built HTML book at {HTML}: run `jupyter-book build .` first")
    with _browser_session() as (tools, session):
        results = {
            page: _visit(tools, session, (HTML / page).as_uri(), HTML.as_uri())
            for page in _page_paths()
            if page.startswith("book/")
        }
    problems = {page: r["problems"] for page, r in results.items() if r["problems"]}
    assert not problems, json.dumps(problems, indent=1)
    broken = {
        page: [i["src"] for i in r["images"] if not i["complete"] or i["width"] == 0] for page, r in results.items()
    }
    assert not any(broken.values()), json.dumps(broken, indent=1)
    with_math = {page: r for page, r in results.items() if r["mathSource"]}
    assert with_math, "no page with math was found"
    untypeset = [page for page, r in with_math.items() if r["mathRendered"] < r["mathSource"]]
    assert not untypeset, untypeset


def _page_paths() -> list[str]:
    """Every HTML page of the book (not the theme's template fragments in _static)."""
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if p.relative_to(HTML).parts[0] not in ("_static", "_sources")
    )


def _pages(report: dict) -> dict[str, dict]:
    return {k: v for k, v in report.items() if k != "__origin__"}


def test_every_page_was_visited(browser_report):
    visited = set(_pages(browser_report))
    on_disk = set(_page_paths())
    assert visited == on_disk
    assert "index.html" in visited


def test_no_console_error_failed_request_or_foreign_host(browser_report):
    problems = {page: r["problems"] for page, r in _pages(browser_report).items() if r["problems"]}
    assert not problems, json.dumps(problems, indent=1)


def test_every_image_loaded(browser_report):
    broken = {
        page: [img["src"] for img in r["images"] if not img["complete"] or img["width"] == 0]
        for page, r in _pages(browser_report).items()
    }
    broken = {page: srcs for page, srcs in broken.items() if srcs}
    assert not broken, json.dumps(broken, indent=1)


def test_every_internal_link_and_anchor_resolves(browser_report):
    origin = browser_report["__origin__"]["origin"]
    pages = _pages(browser_report)
    ids = {page: set(r["ids"]) for page, r in pages.items()}
    problems = []
    for page, r in pages.items():
        for link in r["links"]:
            if not link.startswith(origin + "/"):
                continue  # another host (a DOI, a registry record), mailto: or javascript:
            address, fragment = urldefrag(link)
            target = unquote(urlsplit(address).path).lstrip("/") or "index.html"
            if target.endswith("/"):
                target += "index.html"
            if not (HTML / target).is_file():
                problems.append(f"{page}: link to missing {target}")
                continue
            if fragment and target.endswith(".html") and unquote(fragment) not in ids.get(target, set()):
                problems.append(f"{page}: no #{fragment} in {target}")
    assert not problems, "\n".join(problems)


def test_figures_are_shown_as_images(browser_report):
    """Each chapter's figures reach the reader: every figure element holds a loaded image."""
    for page in _page_paths():
        text = (HTML / page).read_text(encoding="utf-8")
        expected = text.count('<figure class="align-default"')
        if expected:
            loaded = [img for img in browser_report[page]["images"] if "/_images/" in img["src"] and img["width"] > 0]
            assert len(loaded) >= expected, page


def test_math_is_typeset_by_the_local_mathjax(browser_report):
    """Every page with math has it typeset (MathJax came from the site itself: no other host)."""
    untypeset = {
        page: f"{r['mathRendered']} of {r['mathSource']}"
        for page, r in _pages(browser_report).items()
        if r["mathRendered"] < r["mathSource"]
    }
    assert not untypeset, untypeset
