"""The built HTML site is self-contained: no page loads anything from another host.

Checks every page of ``_build/html`` (``NKREPORT_BUILD_DIR`` overrides ``_build``): scripts,
stylesheets, icons, images, frames and media come from the site itself and exist there; the
stylesheets import nothing remote; math is typeset by the copy of MathJax in ``_static``.
Links (``<a href>``) to other sites, such as DOIs, are fine: a reader follows them by choice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from nkreport.build import publish

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NKREPORT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"

#: (tag, attribute) pairs that make a browser fetch something when the page loads.
RESOURCE_ATTRIBUTES = (
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("img", "srcset"),
    ("source", "src"),
    ("source", "srcset"),
    ("iframe", "src"),
    ("frame", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("track", "src"),
    ("input", "src"),
    ("image", "href"),
    ("use", "href"),
)
#: <link rel=...> values that are navigation, not resources.
NAVIGATION_RELS = {"index", "search", "next", "prev", "canonical", "alternate", "author", "license", "help"}
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_CSS_REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)


def _remote(url: str) -> bool:
    return bool(_REMOTE.match(url.strip()))


def _urls(attribute: str, value: str) -> list[str]:
    if attribute == "srcset":
        return [part.strip().split()[0] for part in value.split(",") if part.strip()]
    return [value]


@pytest.fixture(scope="module")
def pages() -> list[Path]:
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built HTML book at {HTML}: run `jupyter-book build .` first")
    found = sorted(p for p in HTML.rglob("*.html") if p.relative_to(HTML).parts[0] not in ("_static", "_sources"))
    assert found
    return found


def _resources(page: Path):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for tag, attribute in RESOURCE_ATTRIBUTES:
        for element in soup.find_all(tag):
            value = element.get(attribute) or element.get(f"xlink:{attribute}")
            if not value:
                continue
            if tag == "link" and NAVIGATION_RELS & set(element.get("rel") or []):
                continue
            for url in _urls(attribute, value):
                yield tag, attribute, url
    for element in soup.find_all(style=True):
        for match in _CSS_REMOTE.finditer(element["style"]):
            yield element.name, "style", match.group(1)
    for element in soup.find_all("style"):
        for match in _CSS_REMOTE.finditer(element.get_text()):
            yield "style", "css", match.group(1)


def test_no_page_loads_anything_from_another_host(pages):
    offenders = [
        f"{page.relative_to(HTML)}: <{tag} {attribute}={url}>"
        for page in pages
        for tag, attribute, url in _resources(page)
        if _remote(url)
    ]
    assert not offenders, "\n".join(offenders)


def test_every_local_resource_exists(pages):
    missing = []
    for page in pages:
        for tag, attribute, url in _resources(page):
            if _remote(url) or url.startswith(("data:", "#", "about:", "blob:")):
                continue
            path = unquote(urlsplit(url).path)
            if not path:
                continue
            target = (page.parent / path).resolve() if not path.startswith("/") else (HTML / path.lstrip("/"))
            if not target.exists():
                missing.append(f"{page.relative_to(HTML)}: <{tag} {attribute}={url}>")
    assert not missing, "\n".join(missing)


def test_stylesheets_import_nothing_remote():
    offenders = []
    for sheet in sorted((HTML / "_static").rglob("*.css")):
        for match in _CSS_REMOTE.finditer(sheet.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{sheet.relative_to(HTML)}: {match.group(1)}")
    assert not offenders, "\n".join(offenders)


def test_mathjax_is_served_from_the_site(pages):
    """MathJax's loader and fonts are in _static, and pages with math use that copy."""
    loader = HTML / "_static" / publish.MATHJAX_STATIC / "tex-mml-chtml.js"
    assert loader.is_file() and loader.stat().st_size > 100_000
    fonts = list((HTML / "_static" / publish.MATHJAX_STATIC / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert fonts, "MathJax's CommonHTML fonts were not copied"
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if 'class="math' in text:
            assert f"_static/{publish.MATHJAX_STATIC}/tex-mml-chtml.js" in text, page


def test_every_page_carries_the_watermark(pages):
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if 'http-equiv="Refresh"' in text or 'http-equiv="refresh"' in text:
            continue  # the root page only redirects to the book's first page
        match = re.search(r'class="nkreport-watermark">([^<]*)<', text)
        assert match, page
        assert re.fullmatch(r"nkreport \S+ · inputs [0-9a-f]{16}", match.group(1)), match.group(1)


def test_remote_detection_can_fail():
    """The detector itself: remote and protocol-relative URLs are caught, local ones are not."""
    assert _remote("https://cdn.example/x.js") and _remote("//cdn.example/x.js") and _remote("HTTP://x")
    assert not _remote("../_static/x.js") and not _remote("_static/mathjax/tex-mml-chtml.js")
    assert _CSS_REMOTE.search("a{background:url('https://x/y.png')}")
    assert _CSS_REMOTE.search('@import "//fonts.example/css";')
    assert not _CSS_REMOTE.search("a{background:url(../img/y.png)}")


@pytest.mark.book
def test_the_whole_book_builds_offline(tmp_path):
    """Every page is read and written again with networking disabled (``.ci/offline.sh``), into a
    scratch folder, with the notebooks' outputs taken from the execution cache of the last
    build; the glued results come out identical."""
    cache = BUILD / ".jupyter_cache"
    if not cache.is_dir() or not (HTML / "results.json").exists():
        pytest.fail(f"no build with an execution cache at {BUILD}: run `jupyter-book build .` first")
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0
        and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0
    ):
        if os.environ.get("CI"):
            pytest.fail("cannot create a network namespace (unshare -n / -rn) for the offline build")
        pytest.skip("cannot create a network namespace here (unshare -n / -rn)")
    output = tmp_path / "book"
    shutil.copytree(cache, output / "_build" / ".jupyter_cache")
    executable = Path(sys.executable).with_name("jupyter-book")
    command = [
        "bash",
        str(ROOT / ".ci" / "offline.sh"),
        str(executable) if executable.exists() else "jupyter-book",
        "build",
        ".",
        "-W",
        "-n",
        "--keep-going",
        "--all",
        "--path-output",
        str(output),
    ]
    toc = os.environ.get("NKREPORT_TOC")
    if toc:
        command += ["--toc", toc]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3000)
    log = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, log
    assert "running WITH the network" not in result.stderr, log
    offline_html = output / "_build" / "html"
    built = {p.relative_to(offline_html).as_posix() for p in offline_html.rglob("*.html")}
    expected = {p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")}
    assert built == expected
    offline_results = json.loads((offline_html / "results.json").read_text(encoding="utf-8"))
    results = json.loads((HTML / "results.json").read_text(encoding="utf-8"))
    assert offline_results["results"] == results["results"]
