"""The built HTML site is self-contained: no page loads anything from another host.

Checks every page of ``_build/html`` (``NKREPORT_BUILD_DIR`` overrides ``_build``): scripts,
stylesheets, icons, images, frames and media come from the site itself and exist there; the
stylesheets import nothing remote; math is typeset by the copy of MathJax in ``_static``.
Links (``<a href>``) to other sites, such as DOIs, are fine: a reader follows them by choice.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from nkreport import publish

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("NKREPORT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"

#: (tag, attribute) pairs that make a browser fetch something when the page loads.
RESOURCE_ATTRIBUTES = (
    ("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"), ("source", "src"),
    ("source", "srcset"), ("iframe", "src"), ("frame", "src"), ("embed", "src"), ("object", "data"),
    ("video", "src"), ("video", "poster"), ("audio", "src"), ("track", "src"), ("input", "src"),
    ("image", "href"), ("use", "href"),
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
        for page in pages for tag, attribute, url in _resources(page) if _remote(url)
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
