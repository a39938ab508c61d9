"""The PDF book: structure, chapters, figures, tables and bibliography, read back with poppler.

``jupyter-book build . --builder pdflatex`` writes ``_build/latex/nkreport.pdf``
(``NKREPORT_BUILD_DIR`` overrides ``_build``); CI builds it before the tests. The book tests
skip, saying why, when no PDF was built. The helpers that lay out parts and tables for LaTeX
(:mod:`nkreport.build.publish`) are tested here too, without a build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from nkreport.build import publish

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NKREPORT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"
LATEX = BUILD / "latex"
PDF = LATEX / "nkreport.pdf"
#: The table of contents the build used (``NKREPORT_TOC`` overrides ``_toc.yml``).
TOC = Path(os.environ.get("NKREPORT_TOC", ROOT / "_toc.yml"))


# --- LaTeX layout helpers (no build needed) ------------------------------------------------


def test_parts_and_appendix_markup():
    markup = publish.latex_part_markup(
        [("What the trial showed", True), ("What we now believe", True), ("Appendices", False)]
    )
    assert markup[:2] == ["\\part{What the trial showed}\n", "\\part{What we now believe}\n"]
    assert markup[2].startswith("\\appendix\n") and markup[2].endswith("\\part{Appendices}\n")
    # figures and tables in appendices are numbered A.1, not 1.1
    assert "\\renewcommand{\\thetable}{\\thechapter.\\arabic{table}}" in markup[2]


def test_no_appendix_without_numbered_chapters_and_escaping():
    assert publish.latex_part_markup([(None, False), ("Notes & 100% #1", False)]) == [
        "",
        "\\part{Notes \\& 100\\% \\#1}\n",
    ]


def test_column_widths_keep_words_and_fit_the_line():
    rows = [
        ["study", "events/n", "source"],
        ["Ohira 2025 phase I/II trial of donor liver NK cells", "6/19", "doi:10.1371/journal.pone.0313102"],
        ["Kim SH 2020 (Samsung LDLT 2008-2016)", "108/727", "doi:10.1007/s10096-020-04074-5"],
    ]
    # needs: longest word + 2 (capped); wants: longest cell (capped), never below the need
    # (the header "events/n" is set in a wider face: its need is scaled by LATEX_HEADER_WIDTH)
    header = round(publish.LATEX_HEADER_WIDTH * len("events/n"))
    need = [len("2008-2016)") + 2, header, publish.LATEX_WORD_CAP + 2]
    want = [publish.LATEX_CELL_CAP, header, publish.LATEX_CELL_CAP]
    # with room, each column gets what it wants
    assert publish.latex_column_widths(rows, line_chars=400) == want
    # without room even for the needs, each column gets its need
    assert publish.latex_column_widths(rows, line_chars=40) == need
    # in between, the room left after the needs is shared in proportion to the extra wanted
    middle = publish.latex_column_widths(rows, line_chars=60)
    room = 60 - 2 * 3
    share = (room - sum(need)) / (sum(want) - sum(need))
    assert middle == [n + round((w - n) * share) for n, w in zip(need, want, strict=False)]
    assert abs(sum(middle) - room) <= 1


def test_kernel_profile_keeps_figures_as_pdf(tmp_path):
    folder = publish.kernel_profile(tmp_path)
    config = folder / "profile_default" / "ipython_kernel_config.py"
    namespace = {"get_config": lambda: type("Config", (), {"InlineBackend": type("IB", (), {})()})()}
    exec(config.read_text(encoding="utf-8"), namespace)
    assert namespace["c"].InlineBackend.figure_formats == {"svg", "pdf"}
    before = config.stat().st_mtime_ns
    assert publish.kernel_profile(tmp_path) == folder and config.stat().st_mtime_ns == before


def test_colspec_fills_the_line():
    spec = publish.latex_colspec([2, 1, 1])
    assert spec.count("p{") == 3 and "*2/4" in spec and "*1/4" in spec and "-6\\tabcolsep" in spec


# --- the built PDF -----------------------------------------------------------------------


def _toc() -> dict:
    return yaml.safe_load(TOC.read_text(encoding="utf-8"))


def _toc_files() -> list[str]:
    return [chapter["file"] for part in _toc().get("parts", []) for chapter in part.get("chapters", [])]


def _normalise(text: str) -> str:
    text = re.sub(r"-\s*\n\s*", "", text)  # words hyphenated across lines
    return re.sub(r"\s+", " ", text).strip().lower()


def _page_title(docname: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((HTML / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")
    heading = soup.select_one("article h1") or soup.find("h1")
    return re.sub(r"\s+", " ", heading.get_text(" ")).replace("#", "").strip()


@pytest.fixture(scope="module")
def pdf_text() -> str:
    if not PDF.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no PDF at {PDF}: CI builds it before the tests (.ci/run)")
        pytest.skip(f"no PDF at {PDF}: build it with `jupyter-book build . --builder pdflatex`")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is not installed; .ci/install-system.sh installs it")
    return subprocess.run(["pdftotext", "-layout", str(PDF), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.book
def test_page_count_is_sane(pdf_text):
    info = subprocess.run(["pdfinfo", str(PDF)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    chapters = len(_toc_files())
    assert chapters + 3 <= pages <= 40 * chapters + 20, pages


@pytest.mark.book
def test_title_parts_and_every_chapter_title_are_in_the_pdf(pdf_text):
    text = _normalise(pdf_text)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert _normalise(config["title"]) in text
    assert "contents" in text
    for part in _toc().get("parts", []):
        if part.get("caption"):
            assert _normalise(part["caption"]) in text, part["caption"]
    if not HTML.exists():
        pytest.skip("no built HTML to read chapter titles from")
    for docname in _toc_files():
        title = _page_title(docname)
        assert _normalise(title) in text, (docname, title)


@pytest.mark.book
def test_chapters_are_numbered_and_appendices_lettered(pdf_text):
    tex = (LATEX / "nkreport.tex").read_text(encoding="utf-8")
    numbered = [c for p in _toc().get("parts", []) if p.get("numbered") for c in p.get("chapters", [])]
    assert tex.count("\\chapter{") == len(_toc_files())
    if numbered:
        assert re.search(r"^\s*CHAPTER\s*$", pdf_text, re.MULTILINE)
        assert re.search(r"\b1\.1\b", pdf_text)  # sections numbered within chapters
    if any(not p.get("numbered") for p in _toc().get("parts", [])):
        assert "\\appendix" in tex and re.search(r"^\s*APPENDIX\s*$", pdf_text, re.MULTILINE)


@pytest.mark.book
def test_every_figure_is_in_the_pdf(pdf_text):
    from bs4 import BeautifulSoup

    if not HTML.exists():
        pytest.skip("no built HTML to count figures in")
    captions = []
    for docname in _toc_files():
        soup = BeautifulSoup((HTML / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")
        for figure in soup.select("figure"):
            if figure.find("img"):
                caption = figure.find("figcaption")
                captions.append(caption.get_text(" ") if caption else "")
    # each figure is included as a graphic: a vector PDF (matplotlib) or a raster image
    tex = (LATEX / "nkreport.tex").read_text(encoding="utf-8")
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]*)\}([^}]*)\}", tex)
    assert len(included) >= len(captions), (len(included), len(captions))
    files = {stem + extension: list(LATEX.glob(stem + extension + "*")) for stem, extension in included}
    assert all(files.values()), [name for name, found in files.items() if not found]
    rasters = [name for name, found in files.items() if found[0].suffix.lower() in (".png", ".jpg", ".jpeg")]
    listing = subprocess.run(["pdfimages", "-list", str(PDF)], check=True, capture_output=True, text=True).stdout
    images = [line for line in listing.splitlines()[2:] if line.split()[2:3] == ["image"]]
    assert len(images) >= len(set(rasters)), (len(images), rasters)
    text = _normalise(pdf_text)
    for caption in captions:
        words = re.sub(r"^\s*Fig\.\s*[\dA-Z]*[\d.]+\s*", "", caption).split()[:8]  # Fig. 2.1, Fig. A.1
        assert _normalise(" ".join(words)) in text, caption


@pytest.mark.book
def test_tables_are_typeset_as_tables(pdf_text):
    from bs4 import BeautifulSoup

    if not HTML.exists():
        pytest.skip("no built HTML to count tables in")
    html_tables = sum(
        len(BeautifulSoup((HTML / f"{d}.html").read_text(encoding="utf-8"), "html.parser").select("table.table"))
        for d in _toc_files()
    )
    tex = (LATEX / "nkreport.tex").read_text(encoding="utf-8")
    latex_tables = len(re.findall(r"\\begin\{(?:tabulary|longtable|tabular)\}", tex))
    assert latex_tables >= html_tables, (latex_tables, html_tables)
    assert (
        len(re.findall(r"^\s*Table \d+\.\d+:|^\s*Table [A-Z]\.\d+:", pdf_text, re.MULTILINE)) >= 1 or html_tables == 0
    )


@pytest.mark.book
def test_bibliography_lists_every_cited_source(pdf_text):
    from bs4 import BeautifulSoup

    if not HTML.exists():
        pytest.skip("no built HTML to read the bibliography from")
    pages = [d for d in _toc_files() if "bibliography" in (HTML / f"{d}.html").read_text(encoding="utf-8")]
    entries = sum(
        len(BeautifulSoup((HTML / f"{d}.html").read_text(encoding="utf-8"), "html.parser").select("div.citation"))
        for d in pages
    )
    assert entries > 0
    numbered = re.findall(r"^\s*\[(\d+)\]\s", pdf_text, re.MULTILINE)
    assert len(set(numbered)) >= entries, (len(set(numbered)), entries)


@pytest.mark.book
def test_no_raw_html_ansi_or_unresolved_references(pdf_text):
    for marker in ("\x1b[", "[0m", "[1;", "<div", "<span", "</", "&lt;", "&gt;", "&amp;", "<img", "<table"):
        assert marker not in pdf_text, marker
    assert "??" not in pdf_text  # LaTeX prints ?? for a reference it could not resolve
    log = (LATEX / "nkreport.log").read_text(encoding="utf-8", errors="replace")
    assert "Missing character" not in log, re.findall(r"Missing character[^\n]*", log)[:5]


@pytest.mark.book
def test_fonts_are_embedded(pdf_text):
    fonts = subprocess.run(["pdffonts", str(PDF)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows
    not_embedded = [row[0] for row in rows if "no" in row[-5:-4]]
    assert not not_embedded, not_embedded


@pytest.mark.book
def test_nothing_runs_far_into_the_margin(pdf_text):
    """No line sticks out of the text block by more than a few characters (TeX's overfull boxes):
    such overflows come from unbreakable content (a runaway number, math parsed as text)."""
    log = (LATEX / "nkreport.log").read_text(encoding="utf-8", errors="replace")
    overflows = [
        (float(points), context.strip()[:160])
        for points, context in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)[^\n]*\n([^\n]*\n[^\n]*)", log)
    ]
    severe = [item for item in overflows if item[0] > 60]
    assert not severe, severe[:5]
