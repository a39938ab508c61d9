"""Build hooks for publishing the book: a self-contained HTML site and a print PDF.

Registered by the book's extension (:mod:`nkreport.build.extension`).

* **Local MathJax** (``build-finished``, HTML builders): the MathJax 3 files the pages need are
  copied from the ``mathjax`` Python package into ``_static/mathjax``; ``_config.yml`` points
  ``mathjax_path`` there, so no page loads a script from another host.
* **Parts and appendices in the PDF** (``doctree-read`` of the root page): Sphinx's LaTeX
  writer drops the captions of the table of contents. Before each captioned toctree of the
  root page a LaTeX-only ``\\part`` is inserted, and ``\\appendix`` before the first unnumbered
  part that follows a numbered one, so chapters are numbered 1, 2, … and appendices A, B, ….
  HTML ignores LaTeX-only raw nodes.
* **Tables in the PDF** (``doctree-resolved``, LaTeX): long tables may break across pages, wide
  ones get ragged-right columns sized from their text, and long tokens (DOIs, hashes) get
  break points.
* **Nothing from another host, no console noise** (``html-page-context``): the live-code
  (thebe) loader is left out, the theme's colour mode is set, and the site has its own icon.
* **Vector figures in the PDF** (``builder-inited``): the chapters' kernels get an IPython
  profile that keeps every matplotlib figure as PDF besides PNG; the LaTeX build uses the PDF.
* **Watermark** (``html-page-context``; ``builder-inited`` for LaTeX): every HTML page's footer
  names the package version and the fingerprint of the inputs the page was computed from; the
  PDF title page names the package version and the fingerprint of all data. Both are hashes
  of files, never clock times, so a rebuild from the same inputs gives the same text.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging

from .. import __version__, paths

logger = logging.getLogger(__name__)

#: What is copied from the MathJax distribution (relative to its ``es5`` folder): the combined
#: TeX/MathML → CommonHTML component, its fonts, and the components it may load on demand
#: (TeX extensions, the accessibility menu).
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml.js", "output/chtml", "ui", "a11y", "adaptors")
MATHJAX_STATIC = "mathjax"


def mathjax_source() -> Path:
    """The ``es5`` folder of the MathJax distribution shipped by the ``mathjax`` package."""
    import mathjax  # provided by the django-static-mathjax distribution; no Django needed

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def copy_mathjax(target: Path) -> Path:
    """Copy the MathJax parts into ``target`` (a ``_static/mathjax`` folder); return it.
    Skipped when an earlier build copied the same distribution (a stamp file says which)."""
    from importlib.metadata import version

    source = mathjax_source()
    stamp, copied = target / ".nkreport-mathjax", f"{source}\n{version('django-static-mathjax')}\n{MATHJAX_PARTS}\n"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == copied:
        return target
    for part in MATHJAX_PARTS:
        src = source / part
        if not src.exists():
            continue
        dst = target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    stamp.write_text(copied, encoding="utf-8")
    return target


#: The site icon, written into ``_static`` by the build.
FAVICON = "nkreport-icon.svg"
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1f4e79"/>'
    '<text x="16" y="22" font-family="sans-serif" font-size="15" font-weight="bold" '
    'fill="#ffffff" text-anchor="middle">nk</text></svg>\n'
)


def write_favicon_ico(path: Path) -> None:
    """``/favicon.ico``, which browsers ask for on pages without an icon link (the root
    redirect page): a plain square in the icon's colour."""
    from PIL import Image

    Image.new("RGB", (32, 32), (0x1F, 0x4E, 0x79)).save(path, format="ICO", sizes=[(32, 32)])


def on_build_finished(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    (Path(app.outdir) / "_static" / FAVICON).write_text(FAVICON_SVG, encoding="utf-8")
    if not (Path(app.outdir) / "favicon.ico").exists():
        write_favicon_ico(Path(app.outdir) / "favicon.ico")
    target = copy_mathjax(Path(app.outdir) / "_static" / MATHJAX_STATIC)
    logger.info(f"[nkreport] MathJax copied to {target}")


#: Switch to appendices: chapters lettered, and figures, tables, equations and code blocks
#: numbered A.1, A.2, … (Sphinx's own numbering prints the chapter counter in arabic).
APPENDIX_LATEX = "".join(
    ["\\appendix\n"]
    + [
        f"\\renewcommand{{\\the{counter}}}{{\\thechapter.\\arabic{{{counter}}}}}\n"
        for counter in ("figure", "table", "equation", "literalblock")
    ]
)


def latex_part_markup(toctrees: list[tuple[str | None, bool]]) -> list[str]:
    """LaTeX to put before each toctree given as (caption, numbered).

    Every captioned toctree opens a ``\\part``; the first unnumbered one after a numbered one
    also switches to appendix numbering.
    """
    markup = []
    seen_numbered = False
    in_appendix = False
    for caption, numbered in toctrees:
        latex = ""
        if numbered:
            seen_numbered = True
        elif seen_numbered and not in_appendix:
            latex += APPENDIX_LATEX
            in_appendix = True
        if caption:
            latex += "\\part{" + _latex_escape(caption) + "}\n"
        markup.append(latex)
    return markup


def _latex_escape(text: str) -> str:
    for char, escaped in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("$", r"\$"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("{", r"\{"),
        ("}", r"\}"),
    ):
        text = text.replace(char, escaped)
    return text


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    if app.env.docname != app.config.root_doc:
        return
    # LaTeX drops the root page's title (it becomes the document's); give its text a heading
    # of its own, in the contents and the running head, instead of running on after them
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        title = _latex_escape(section[0].astext())
        section.insert(
            1,
            nodes.raw(
                "",
                f"\\chapter*{{{title}}}\\addcontentsline{{toc}}{{chapter}}{{{title}}}"
                f"\\markboth{{{title}}}{{{title}}}\n",
                format="latex",
            ),
        )
    toctrees = list(doctree.findall(addnodes.toctree))
    markup = latex_part_markup([(t.get("caption"), bool(t.get("numbered"))) for t in toctrees])
    for toctree, latex in zip(toctrees, markup, strict=False):
        if not latex:
            continue
        anchor = toctree.parent if isinstance(toctree.parent, nodes.compound) else toctree
        anchor.parent.insert(anchor.parent.index(anchor), nodes.raw("", latex, format="latex"))


#: Tables longer than this many body rows are set as ``longtable`` (they may break across pages).
LATEX_LONGTABLE_ROWS = 15
#: About how many characters of table text (footnote size) fit the text width of an A4 page.
LATEX_LINE_CHARS = 100
#: A character of code font (monospaced) is about this many average characters of text wide.
LATEX_MONO_WIDTH = 1.3
#: A character of a column header (sans-serif) is about this many average characters of text wide.
LATEX_HEADER_WIDTH = 1.5
#: Tables whose widest cells add up to more characters than this get explicit column widths.
LATEX_WIDE_CHARS = LATEX_LINE_CHARS
#: A table of three or more columns with a cell this long (a sentence) gets explicit widths too.
LATEX_PROSE_CELL = 40
#: Longest cell and longest word that set a column's width (longer text wraps).
LATEX_CELL_CAP, LATEX_WORD_CAP = 30, 14
_BREAKABLE = re.compile(r"(?<=[/.:_\-])(?=\w)")
_ORDINARY_SPACE = re.compile(r"[ \t\n\r]+")
_NO_BREAK = re.compile("[\u00a0\u202f]")


def table_cells(table: nodes.table) -> list[list[str]]:
    """The text of every row (header and body) of a docutils table."""
    return [[entry.astext() for entry in row.findall(nodes.entry)] for row in table.findall(nodes.row)]


def latex_column_widths(
    rows: list[list[str]], line_chars: int = LATEX_LINE_CHARS, unbreakable: list[int] | None = None
) -> list[int]:
    """Column widths in characters from the cells' text.

    Each column wants its longest cell (capped) and needs at least its longest word (capped;
    longer words get break points), its longest unbreakable token (``unbreakable``, per
    column: identifiers in code font, which are never broken) and the longest word of its
    header (the first row, set in a wider face). When the wanted widths do not
    fit ``line_chars`` (less the padding between columns), each column keeps what it needs and
    the room left is shared in proportion to what it wants beyond that.
    """
    ncols = max((len(r) for r in rows), default=0)
    need, want = [], []
    for j in range(ncols):
        column = [r[j] for r in rows if j < len(r)]
        # words end at ordinary spaces only: no-break spaces hold an interval or "5 %" together
        words = [word for text in column for word in _ORDINARY_SPACE.split(text)]
        longest_word = max((len(word) for word in words), default=1)
        # a run held together by no-break spaces (an interval) is never broken: no cap
        held = max((len(word) for word in words if _NO_BREAK.search(word)), default=0)
        longest_cell = max((len(text) for text in column), default=1)
        whole = round(LATEX_MONO_WIDTH * unbreakable[j]) if unbreakable and j < len(unbreakable) else 0
        header = round(LATEX_HEADER_WIDTH * max((len(w) for w in _ORDINARY_SPACE.split(column[0])), default=0))
        need.append(max(min(longest_word, LATEX_WORD_CAP) + 2, held + 2, whole + 2, header, 5))
        want.append(max(min(longest_cell, LATEX_CELL_CAP), need[-1]))
    room = line_chars - 2 * ncols
    if sum(want) <= room or sum(need) >= room:
        return want if sum(want) <= room else need
    share = (room - sum(need)) / (sum(want) - sum(need))
    return [n + round((w - n) * share) for n, w in zip(need, want, strict=False)]


def latex_colspec(widths: list[int]) -> str:
    """A ragged-right ``p`` column per width, together filling the text width."""
    total = sum(widths)
    n = len(widths)
    return "".join(
        f">{{\\raggedright\\arraybackslash}}p{{\\dimexpr(\\linewidth-{2 * n}\\tabcolsep)*{w}/{total}\\relax}}"
        for w in widths
    )


def _chunks(piece: str, size: int = 16) -> list[str]:
    """Split a run longer than ``LATEX_WORD_CAP`` with no break point (a hash) every ``size``."""
    if len(piece) <= LATEX_WORD_CAP or any(c.isspace() for c in piece):
        return [piece]
    return [piece[i : i + size] for i in range(0, len(piece), size)]


#: Words at least this long in a table cell (DOIs, PMIDs, URLs) may break after / . : _ -.
LATEX_BREAK_WORD = 9


def _in_literal(node: nodes.Node) -> bool:
    while node is not None:
        if isinstance(node, nodes.literal):
            return True
        node = node.parent
    return False


def literal_widths(table: nodes.table) -> list[int]:
    """Per column, the longest identifier in code font (never broken, never hyphenated)."""
    widths: list[int] = []
    for row in table.findall(nodes.row):
        for j, entry in enumerate(row.findall(nodes.entry)):
            longest = max((len(lit.astext()) for lit in entry.findall(nodes.literal)), default=0)
            if j >= len(widths):
                widths.append(0)
            widths[j] = max(widths[j], longest)
    return widths


def _allow_breaks_in_long_words(table: nodes.table) -> None:
    """Let DOIs, URLs and other long tokens in table cells break after / . : _ - (never inside
    code font: an identifier a reader types is kept whole)."""
    for text in list(table.findall(nodes.Text)):
        if _in_literal(text.parent):
            continue
        if not any(len(word) >= LATEX_BREAK_WORD for word in text.split()):
            continue
        pieces = [chunk for piece in _BREAKABLE.split(str(text)) for chunk in _chunks(piece)]
        replacement: list[nodes.Node] = []
        for i, piece in enumerate(pieces):
            if i:
                replacement.append(nodes.raw("", r"\allowbreak{}", format="latex"))
            replacement.append(nodes.Text(piece))
        text.parent.replace(text, replacement)


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """In the PDF, long tables may break across pages and wide ones get column widths."""
    if app.builder.format != "latex":
        return
    for table in list(doctree.findall(nodes.table)):
        rows = table_cells(table)
        body_rows = sum(1 for body in table.findall(nodes.tbody) for _ in body.findall(nodes.row))
        natural = sum(
            min(max((len(r[j]) for r in rows if j < len(r)), default=0), LATEX_CELL_CAP)
            for j in range(max((len(r) for r in rows), default=0))
        )
        if body_rows > LATEX_LONGTABLE_ROWS:
            table["classes"].append("longtable")
        code = literal_widths(table)
        # a column of sentences beside short ones: tabulary squeezes the short ones below their words
        longest = max((len(text) for r in rows for text in r), default=0)
        prose_column = longest > LATEX_PROSE_CELL and max((len(r) for r in rows), default=0) >= 3
        if body_rows > LATEX_LONGTABLE_ROWS or natural > LATEX_WIDE_CHARS or any(code) or prose_column:
            spec = addnodes.tabular_col_spec()
            spec["spec"] = latex_colspec(latex_column_widths(rows, unbreakable=code))
            table.parent.insert(table.parent.index(table), spec)
            _allow_breaks_in_long_words(table)


def _inputs_fingerprint(app: Sphinx) -> str:
    """The fingerprint of all inputs (every data group and the package), once per build."""
    from .fingerprints import all_inputs_fingerprint

    if not hasattr(app, "_nkreport_all_inputs"):
        app._nkreport_all_inputs = all_inputs_fingerprint(paths.project_root())
    return app._nkreport_all_inputs


def watermark(fingerprint: str | None) -> str:
    """The line every page carries: package version and the fingerprint of its inputs."""
    line = f"nkreport {__version__}"
    if fingerprint:
        line += f" · inputs {fingerprint}"
    return line


def _is_thebe_script(script) -> bool:
    filename = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return filename.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body


def on_html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    # Live code (thebe) is off in this book; its loader would fetch code from another host on
    # demand, and its configuration script is added twice (a console error). Leave both out.
    if "script_files" in context:
        # in place: the list is the builder's, to which later handlers (MathJax) still add
        context["script_files"][:] = [s for s in context["script_files"] if not _is_thebe_script(s)]
    # a colour mode the theme's script accepts (it logs an error for an empty one)
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    # the site's own icon, so browsers do not ask the server for a missing /favicon.ico
    if not context.get("favicon_url"):
        context["favicon_url"] = FAVICON
    fingerprints = getattr(app.env, "nkreport_fingerprints", {})
    fingerprint = fingerprints.get(pagename) or _inputs_fingerprint(app)
    footer = context.get("theme_extra_footer") or ""
    context["theme_extra_footer"] = f'{footer}<p class="nkreport-watermark">{watermark(fingerprint)}</p>'


#: IPython configuration for the chapters' kernels: every matplotlib figure is kept as SVG,
#: which the HTML shows (sharp on any screen), and as PDF, which the LaTeX build prefers (vector
#: figures in the printed book). Both are vector formats: nothing is rasterised at a fixed dpi.
KERNEL_CONFIG = 'c = get_config()  # noqa: F821\nc.InlineBackend.figure_formats = {"svg", "pdf"}\n'


#: The date written into figure files (seconds since 1970; 2025-01-01, the trial's publication year).
FIGURE_DATE_EPOCH = "1735689600"


def kernel_profile(build_dir: Path) -> Path:
    """Write an IPython folder whose kernel profile keeps figures as SVG and PDF; return it."""
    ipython_dir = build_dir / ".ipython-nkreport"
    config = ipython_dir / "profile_default" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    if not config.exists() or config.read_text(encoding="utf-8") != KERNEL_CONFIG:
        config.write_text(KERNEL_CONFIG, encoding="utf-8")
    return ipython_dir


def on_builder_inited(app: Sphinx) -> None:
    # chapter kernels inherit this process's environment (they start while pages are read)
    os.environ["IPYTHONDIR"] = str(kernel_profile(Path(app.outdir).parent))
    # matplotlib stamps SVG and PDF figures with the time they were drawn unless this is set:
    # a fixed date keeps a redrawn figure byte for byte the same (incremental build = clean build)
    os.environ.setdefault("SOURCE_DATE_EPOCH", FIGURE_DATE_EPOCH)
    if app.builder.name != "latex":
        return
    # the title page names the version and the fingerprint of every input
    app.builder.context["release"] = watermark(_inputs_fingerprint(app)).removeprefix("nkreport ")
    app.builder.context["releasename"] = "nkreport"


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", on_build_finished)
    app.connect("doctree-read", on_doctree_read)
    # before Sphinx turns favicon_url into a relative path (priority 500)
    app.connect("html-page-context", on_html_page_context, priority=400)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("builder-inited", on_builder_inited)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
