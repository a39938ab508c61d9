"""Build hooks for the book as its readers meet it: typography, tables that fit, a way in.

Registered by the book's extension (:mod:`nkreport.build.extension`).

* **Typography** (``doctree-resolved``, every builder): in all text a reader sees (prose,
  glued values, captions, table cells; not code, math or raw markup) a number and "%" are
  joined by a narrow no-break space and a hyphen before a number becomes a minus sign
  (:func:`nkreport.report.glue.typeset`).
* **The book's stylesheet** (``builder-inited``, HTML): ``static/nkreport.css`` is served from
  ``_static``: tables wrap their cells to the text width instead of scrolling, intervals and
  code-font identifiers never break or hyphenate, captions stay in view.
* **Code that made each table** (``doctree-resolved``): cells tagged ``hide-input`` show their
  call behind a toggle in the HTML; the PDF prints the result only.
* **The PDF, linked from every page** (``html-page-context``): every page's footer links
  :data:`PDF_NAME` at the site's root, where the publishing step puts the typeset book
  (:func:`publish_pdf`; CI runs it after the PDF build).
* **A way in** (directive ``nkreport-way-in``, on the home page): links the conclusion (when
  the book has one: reduced books built by the tests may not) and the PDF.
* **This edition** (directive ``nkreport-edition``, on the provenance page): version, build
  date, commit and the fingerprint of all inputs that the footer and the PDF show.
* **Appendix numbers as in the PDF** (``env-get-updated``, HTML): figures and tables of the
  appendices are numbered A.1, B.3, … as the PDF numbers them (:mod:`nkreport.build.publish`
  letters the appendices there), instead of a running count across all appendices.
* **What ran in this build** (directive ``nkreport-execution-table``): for each chapter, whether
  it was executed in this build or its result came from an earlier build's cache, when, how
  long it took and whether it succeeded. Pages with these directives are read again by every
  build, so they describe the build that wrote them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

from .. import __version__, paths
from ..report import citation
from ..report.glue import typeset

logger = logging.getLogger(__name__)

#: The folder of files the extension serves from ``_static``.
STATIC_DIR = Path(__file__).parent / "static"
#: The book's stylesheet, in :data:`STATIC_DIR`.
STYLESHEET = "nkreport.css"
#: The typeset book's file name at the root of the HTML site.
PDF_NAME = "nkreport.pdf"
#: The conclusion, linked from the home page when the book has it.
CONCLUSION_DOC = "book/11_conclusion"
#: The provenance page: how to cite, this edition, what ran.
PROVENANCE_DOC = "book/status"

#: Text inside these nodes is code, math or markup: never retypeset.
_LITERAL = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw, nodes.FixedTextElement)


def _is_literal(node: nodes.Node) -> bool:
    while node is not None:
        if isinstance(node, _LITERAL):
            return True
        node = node.parent
    return False


def typeset_doctree(doctree: nodes.document) -> int:
    """Apply :func:`~nkreport.report.glue.typeset` to every Text node outside code and math, and
    outside links whose text is their address; return how many nodes changed."""
    changed = 0
    for text in list(doctree.findall(nodes.Text)):
        parent = text.parent
        if parent is None or _is_literal(parent):
            continue
        original = str(text)
        if isinstance(parent, nodes.reference) and original.strip() == parent.get("refuri", "").strip():
            continue
        new = typeset(original)
        if new != original:
            parent.replace(text, nodes.Text(new))
            changed += 1
    return changed


def drop_hidden_inputs(doctree: nodes.document) -> int:
    """Remove the source of code cells whose input is hidden behind a toggle (the printed book
    has no toggle); return how many were removed."""
    removed = 0
    for cell in list(doctree.findall(nodes.container)):
        if cell.get("nb_element") != "cell_code" or cell.get("hide_mode") not in ("input", "all"):
            continue
        for child in list(cell.children):
            if isinstance(child, nodes.container) and child.get("nb_element") == "cell_code_source":
                cell.remove(child)
                removed += 1
    return removed


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    typeset_doctree(doctree)
    if app.builder.format == "latex":
        drop_hidden_inputs(doctree)


def add_static_dir(app: Sphinx) -> None:
    if app.builder.format == "html" and str(STATIC_DIR) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC_DIR))


def pdf_href(pagename: str) -> str:
    """The PDF's address relative to a page of the HTML site (``book/02_evidence`` →
    ``../nkreport.pdf``)."""
    return "../" * pagename.count("/") + PDF_NAME


def pdf_link_html(pagename: str, text: str = "The book as a PDF") -> str:
    return f'<a class="reference external nkreport-pdf-link" href="{pdf_href(pagename)}">{text}</a>'


def on_html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    footer = context.get("theme_extra_footer") or ""
    link = f'<p class="nkreport-pdf">{pdf_link_html(pagename)} (typeset for print).</p>'
    context["theme_extra_footer"] = link + footer


def publish_pdf(build_dir: Path) -> Path:
    """Copy the typeset book (``<build>/latex/nkreport.pdf``) to the root of the HTML site,
    where every page links it; return the copy. Run after the PDF build."""
    source = Path(build_dir) / "latex" / PDF_NAME
    if not source.is_file():
        raise FileNotFoundError(f"{source}: build the PDF first (jupyter-book build . --builder pdflatex)")
    target = Path(build_dir) / "html" / PDF_NAME
    shutil.copyfile(source, target)
    return target


class WayIn(Directive):
    """``nkreport-way-in``: where to read on from the home page. Links the conclusion when the
    book has it and the PDF (HTML only; the PDF does not link itself)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        paragraph = nodes.paragraph(classes=["nkreport-way-in"])
        if CONCLUSION_DOC in env.found_docs:
            paragraph += nodes.Text("Read on: the conclusion and its summary of findings, ")
            paragraph += doc_link(CONCLUSION_DOC, env.docname)
            paragraph += nodes.Text(". ")
        paragraph += nodes.raw(
            "",
            f"The whole book, typeset for print: {pdf_link_html(env.docname, 'download the PDF')}.",
            format="html",
        )
        cff = citation.read_citation()
        about = nodes.paragraph(classes=["nkreport-edition"])
        about += nodes.Text(f"By {citation.authors_line(cff)}; nkreport version {cff['version']}. ")
        if PROVENANCE_DOC in env.found_docs:
            about += nodes.Text("How to cite it, and what it was built from: ")
            about += doc_link(PROVENANCE_DOC, env.docname)
            about += nodes.Text(". ")
        about += nodes.Text(citation.NOT_MEDICAL_ADVICE)
        return [paragraph, about]


def doc_link(target: str, from_doc: str) -> addnodes.pending_xref:
    """A link to another page of the book, shown with that page's title."""
    return addnodes.pending_xref(
        "",
        nodes.inline("", "", classes=["xref", "std", "std-doc"]),
        refdomain="std",
        reftype="doc",
        reftarget="/" + target,
        refdoc=from_doc,
        refexplicit=False,
        refwarn=True,
    )


class build_placeholder(nodes.General, nodes.Element):  # noqa: N801 -- docutils names nodes in lower case
    """Filled in when the page is written (``kind``: 'edition' or 'execution')."""


class _Placeholder(Directive):
    has_content = False
    kind = ""

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        if not hasattr(env, "nkreport_every_build"):
            env.nkreport_every_build = set()
        env.nkreport_every_build.add(env.docname)
        return [build_placeholder(kind=self.kind)]


class Edition(_Placeholder):
    """``nkreport-edition``: version, build date, commit and inputs fingerprint."""

    kind = "edition"


class ShortSummary(_Placeholder):
    """``nkreport-short-summary``: the summary of findings in short, for the home page, from the
    values the conclusion glued in this build (nothing when the book has no conclusion)."""

    kind = "summary"


class ExecutionTable(_Placeholder):
    """``nkreport-execution-table``: what ran in this build."""

    kind = "execution"


def source_revision(root: Path) -> str:
    """The commit the book was built from ('abc123… with uncommitted changes'), or a sentence
    saying the source is not a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return "not recorded (the source is not a git checkout)"
    return commit + (" with uncommitted changes" if dirty else "")


def _paragraph(label: str, *content: nodes.Node | str) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    paragraph += nodes.strong("", label)
    paragraph += nodes.Text(" ")
    for part in content:
        paragraph += nodes.Text(part) if isinstance(part, str) else part
    return paragraph


def edition_nodes(app: Sphinx) -> list[nodes.Node]:
    from .publish import _inputs_fingerprint

    built = datetime.fromtimestamp(_build_started(app), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    items = nodes.bullet_list()
    for label, content in (
        ("Version:", [f"nkreport {__version__}"]),
        ("Built:", [built]),
        ("Commit:", [nodes.literal("", source_revision(paths.project_root()))]),
        (
            "Inputs fingerprint:",
            [
                nodes.literal("", _inputs_fingerprint(app)),
                " (shown in the footer of this page, of every page without code and of the PDF; "
                "each chapter's footer shows the fingerprint of the inputs it declares)",
            ],
        ),
    ):
        items += nodes.list_item("", _paragraph(label, *content))
    return [items]


def _build_started(app: Sphinx) -> float:
    if not hasattr(app, "_nkreport_started"):
        app._nkreport_started = time.time()
    return app._nkreport_started


def execution_rows(app: Sphinx, env) -> list[tuple[str, str, str, str, str]]:
    """(docname, ran in this build, run at, seconds, result) for every executed chapter."""
    from myst_nb.sphinx_ import NbMetadataCollector

    started = _build_started(app)
    rows = []
    for docname, data in sorted(NbMetadataCollector.get_doc_data(env).items()):
        executed = data.get("exec_data")
        if not executed or docname not in env.found_docs:
            continue
        mtime = executed.get("mtime")
        ran = "yes" if mtime and mtime >= started else "no: the result of an earlier build, from the cache"
        at = datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if mtime else ""
        runtime = executed.get("runtime")
        seconds = "" if runtime is None else f"{runtime:.1f}"
        result = "succeeded" if executed.get("succeeded") else "failed"
        rows.append((docname, ran, at, seconds, result))
    return rows


def execution_table(app: Sphinx, env, from_doc: str) -> nodes.table:
    header = ("chapter", "executed in this build", "executed at", "seconds", "result")
    rows = execution_rows(app, env)
    table = nodes.table(classes=["colwidths-auto", "nkreport-execution"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body

    def row(cells) -> nodes.row:
        out = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", cell) if isinstance(cell, nodes.Node) else nodes.paragraph("", cell)
            out += entry
        return out

    head += row(header)
    for docname, *cells in rows:
        body += row([doc_link(docname, from_doc), *cells])
    return table


#: The conclusion's glued values the home page's short summary of findings reads.
SUMMARY_KEYS = (
    "concl_pooled_with_or", "concl_pooled_with_ci", "concl_pooled_with_p1",
    "concl_pooled_adjusted_or", "concl_pooled_adjusted_ci", "concl_pooled_adjusted_p1",
    "concl_trial_noborrow_or", "concl_trial_noborrow_ci", "concl_certainty_bsi",
    "concl_rejection_fraction", "concl_rejection_percent", "concl_rejection_baseline_range",
    "concl_certainty_rejection", "concl_related_ae_fraction", "concl_ae_upper", "concl_certainty_ae",
)


def short_summary_nodes(env, from_doc: str) -> list[nodes.Node]:
    """Three bullets, one per outcome of the summary of findings, each with its assumption and
    certainty, from the conclusion's glued values; nothing when the book has no conclusion."""
    from ..report.glue import read_glued

    if CONCLUSION_DOC not in env.found_docs:
        return []
    try:
        glued = read_glued(SUMMARY_KEYS)
    except (KeyError, OSError, ValueError):
        return []
    t = {key: str(entry["text"]) for key, entry in glued.items()}
    lines = (
        ("Bloodstream infection within 30 days.",
         f"Pooled odds ratio {t['concl_pooled_with_or']} ({t['concl_pooled_with_ci']}; probability of benefit "
         f"{t['concl_pooled_with_p1']}) if the earlier retrospective comparisons are unbiased; "
         f"{t['concl_pooled_adjusted_or']} ({t['concl_pooled_adjusted_ci']}; "
         f"probability {t['concl_pooled_adjusted_p1']}) "
         f"allowing for the bias they share. The trial alone, read against their untreated arms: odds ratio "
         f"{t['concl_trial_noborrow_or']} ({t['concl_trial_noborrow_ci']}). "
         f"Certainty: {t['concl_certainty_bsi']}."),
        ("Acute rejection.",
         f"{t['concl_rejection_fraction']} with NK cells ({t['concl_rejection_percent']}), against "
         f"{t['concl_rejection_baseline_range']} in other centres without them. "
         f"Certainty: {t['concl_certainty_rejection']}."),
        ("Infusion-related adverse events.",
         f"{t['concl_related_ae_fraction']}; the risk could still be as high as {t['concl_ae_upper']} "
         f"(upper 95 % bound). Certainty: {t['concl_certainty_ae']}."),
    )
    intro = nodes.paragraph()
    intro += nodes.Text("The summary of findings in short (95 % intervals; details and reasons in ")
    intro += doc_link(CONCLUSION_DOC, from_doc)
    intro += nodes.Text("):")
    items = nodes.bullet_list(classes=["nkreport-short-summary"])
    for label, text in lines:
        items += nodes.list_item("", _paragraph(label, text))
    return [intro, items]


class FillPlaceholders(SphinxPostTransform):
    """Replace each :class:`build_placeholder` when its page is written (before references are
    resolved, so the chapter links in the execution table resolve too)."""

    default_priority = 7

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(build_placeholder)):
            if node["kind"] == "edition":
                node.replace_self(edition_nodes(self.app))
            elif node["kind"] == "summary":
                node.replace_self(short_summary_nodes(self.env, self.env.docname) or [nodes.comment()])
            else:
                node.replace_self(execution_table(self.app, self.env, self.env.docname))


def on_env_get_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages that describe the build are read again by every build."""
    return sorted(d for d in getattr(env, "nkreport_every_build", set()) if d in env.found_docs)


def on_env_purge_doc(app: Sphinx, env, docname: str) -> None:
    getattr(env, "nkreport_every_build", set()).discard(docname)


def on_env_merge_info(app: Sphinx, env, docnames, other) -> None:
    env.nkreport_every_build = getattr(env, "nkreport_every_build", set()) | getattr(
        other, "nkreport_every_build", set()
    )


def appendix_letters(app: Sphinx, env) -> dict[str, str]:
    """Docname → letter of each appendix: the documents of the first unnumbered toctree of the
    root page after a numbered one, and of every toctree after it (as the PDF letters them)."""
    try:
        doctree = env.get_doctree(app.config.root_doc)
    except (OSError, KeyError, ValueError):
        return {}
    letters: dict[str, str] = {}
    seen_numbered = in_appendix = False
    for toctree in doctree.findall(addnodes.toctree):
        if toctree.get("numbered"):
            seen_numbered = True
            continue
        in_appendix = in_appendix or seen_numbered
        if not in_appendix:
            continue
        for _title, docname in toctree.get("entries", []):
            if docname in env.all_docs and docname not in letters:
                letters[docname] = chr(ord("A") + len(letters))
    return letters


def letter_appendix_numbers(app: Sphinx, env) -> list[str]:
    """Number each appendix's figures and tables A.1, A.2, … (in their order within it)."""
    if app.builder.format != "html":
        return []
    for docname, letter in appendix_letters(app, env).items():
        for numbers in env.toc_fignumbers.get(docname, {}).values():
            ordered = sorted(numbers, key=lambda key: numbers[key][-1])  # the running count, in order
            for index, key in enumerate(ordered, start=1):
                numbers[key] = (letter, index)
    return []


def setup(app: Sphinx) -> dict:
    # after Sphinx's own numbering (the toctree collector, priority 500), which runs every build
    app.connect("env-get-updated", letter_appendix_numbers, priority=900)
    app.connect("builder-inited", _build_started)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    app.add_node(build_placeholder)
    app.add_directive("nkreport-edition", Edition)
    app.add_directive("nkreport-execution-table", ExecutionTable)
    app.add_directive("nkreport-short-summary", ShortSummary)
    app.add_post_transform(FillPlaceholders)
    app.connect("builder-inited", add_static_dir)
    app.add_css_file(STYLESHEET)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("html-page-context", on_html_page_context, priority=450)
    app.add_directive("nkreport-way-in", WayIn)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
