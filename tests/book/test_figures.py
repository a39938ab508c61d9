"""Figures as readers meet them, in the built HTML and PDF (build both first).

* every image in the HTML has alt text that describes it (not empty, not its file name or path);
* every figure in the PDF is drawn no wider than the text, so LaTeX never scales it (and its
  text, at least 8 pt by ``tests/report/test_figure_print_size.py``) down, and leaves room on
  the page for its caption;
* the PDF embeds no Type 3 font (matplotlib's default, which journal preflight checks reject);
* in Chromium at 1400 px, no figure is shown below 60 % of its natural size.

The build folder is ``_build`` (``NKREPORT_BUILD_DIR`` overrides it). The tests skip, saying why,
when the HTML or the PDF was not built; CI builds both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nkreport.report import figures

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NKREPORT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"
LATEX = BUILD / "latex"
PDF = LATEX / "nkreport.pdf"
#: Viewport width of the desktop check, and the smallest share of its natural width a figure
#: may be shown at there.
DESKTOP_WIDTH = 1400
MIN_SHOWN_SHARE = 0.6
#: Alt text shorter than this many words does not describe a figure.
MIN_ALT_WORDS = 5

pytestmark = pytest.mark.book


def _html_pages() -> list[Path]:
    if not (HTML / "index.html").exists():
        pytest.skip(f"no built HTML at {HTML}: run `jupyter-book build .` first")
    return sorted(p for p in HTML.rglob("*.html") if p.relative_to(HTML).parts[0] not in ("_static", "_sources"))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} (poppler-utils) is not installed; .ci/install-system.sh installs it")
    return found


def _need_pdf() -> None:
    if not PDF.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no PDF at {PDF}: CI builds it before the tests (.ci/run)")
        pytest.skip(f"no PDF at {PDF}: build it with `jupyter-book build . --builder pdflatex`")


# --- alt text --------------------------------------------------------------------------------


def alt_text_problem(alt: str | None, src: str) -> str | None:
    """Why ``alt`` does not describe the image at ``src`` (None when it does)."""
    text = (alt or "").strip()
    name = Path(src.split("?")[0]).name
    if not text:
        return "no alt text"
    if name and (name in text or Path(name).stem in text):
        return "alt text is the file name"
    if re.search(r"[\\/]|\.(?:png|svg|jpe?g|pdf|gif)\b", text, re.IGNORECASE):
        return "alt text is a path"
    if len(text.split()) < MIN_ALT_WORDS:
        return f"alt text shorter than {MIN_ALT_WORDS} words"
    return None


def test_alt_text_check_tells_descriptions_from_paths():
    description = "Forest plot, one row per cohort, each a marker with a horizontal interval."
    assert alt_text_problem(description, "_images/abc.svg") is None
    assert alt_text_problem("", "_images/abc.svg") == "no alt text"
    assert alt_text_problem(None, "_images/abc.svg") == "no alt text"
    assert alt_text_problem("_images/abc.svg", "_images/abc.svg") == "alt text is the file name"
    assert alt_text_problem("../jupyter_execute/x/y.png", "_images/abc.svg") == "alt text is a path"
    assert alt_text_problem("a figure", "_images/abc.svg") == f"alt text shorter than {MIN_ALT_WORDS} words"


def test_every_image_has_real_alt_text():
    from bs4 import BeautifulSoup

    problems, images = [], 0
    for page in _html_pages():
        for img in BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all("img"):
            images += 1
            problem = alt_text_problem(img.get("alt"), img.get("src", ""))
            if problem:
                problems.append(f"{page.relative_to(HTML)}: {img.get('src')}: {problem} ({img.get('alt')!r})")
    assert images, "no image found in the HTML"
    assert not problems, "\n".join(problems)


# --- the PDF ---------------------------------------------------------------------------------


def _included_figures() -> list[Path]:
    tex = (LATEX / "nkreport.tex").read_text(encoding="utf-8")
    found = []
    for stem, extension in re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]*)\}([^}]*)\}", tex):
        found.append(LATEX / f"{stem}{extension}")
    return found


def test_no_type3_font_in_the_pdf():
    _need_pdf()
    listing = subprocess.run([_tool("pdffonts"), str(PDF)], check=True, capture_output=True, text=True).stdout
    rows = listing.splitlines()[2:]
    assert rows, listing
    type3 = [row.split()[0] for row in rows if "Type 3" in row]
    assert not type3, f"{len(type3)} Type 3 fonts: {type3[:5]}"


def test_every_pdf_figure_fits_the_text_width():
    """Each figure's PDF is no wider than the text, so the printed book shows it at full size, and
    short enough to share a page with its caption."""
    _need_pdf()
    included = [path for path in _included_figures() if path.suffix.lower() == ".pdf"]
    assert included, "no PDF figure included in the LaTeX source"
    too_big = {}
    for path in included:
        info = subprocess.run([_tool("pdfinfo"), str(path)], check=True, capture_output=True, text=True).stdout
        width, height = (float(v) / 72 for v in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
        if width > figures.TEXT_WIDTH_IN + 0.01 or height > figures.MAX_FIGURE_HEIGHT_IN + 0.01:
            too_big[path.name] = f"{width:.2f} x {height:.2f} in"
    assert not too_big, (
        f"wider than the text ({figures.TEXT_WIDTH_IN:.2f} in) or taller than "
        f"{figures.MAX_FIGURE_HEIGHT_IN:g} in (no room for a caption): {too_big}"
    )


# --- the HTML in Chromium --------------------------------------------------------------------

_FIGURE_SIZES = r"""
(async () => {
  const images = [...document.querySelectorAll("figure img")];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return images.map(img => ({src: img.currentSrc || img.src, natural: img.naturalWidth,
                             shown: img.getBoundingClientRect().width}));
})()
"""


def test_no_figure_is_shown_below_60_percent_of_its_natural_size():
    from chromium import _browser_session, _serve, _visit

    pages = [p for p in _html_pages() if "<figure" in p.read_text(encoding="utf-8")]
    assert pages, "no page with a figure"
    server, origin = _serve(HTML)
    shrunk, measured = {}, 0
    try:
        with _browser_session() as (tools, session):
            tools.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": DESKTOP_WIDTH, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            for page in pages:
                relative = page.relative_to(HTML).as_posix()
                _visit(tools, session, f"{origin}/{relative}", origin)
                result = tools.send(
                    "Runtime.evaluate",
                    {"expression": _FIGURE_SIZES, "awaitPromise": True, "returnByValue": True},
                    session,
                )
                for image in result["result"]["value"]:
                    if not image["natural"]:
                        continue
                    measured += 1
                    share = image["shown"] / image["natural"]
                    if share < MIN_SHOWN_SHARE:
                        shrunk.setdefault(relative, []).append(f"{image['src'].rsplit('/', 1)[-1]}: {share:.0%}")
    finally:
        server.shutdown()
    assert measured, "no figure image was measured"
    assert not shrunk, json.dumps(shrunk, indent=1)
