"""Adversarial corpus, class 1: markup injection. Data strings that are markup in MyST, Jinja,
HTML, LaTeX or matplotlib's mathtext reach every output as the characters typed.

The tables of the book are MyST text rendered by myst-parser, so each payload is put through
:func:`nkreport.report.tables.to_myst_table` and rendered here with the *substitution* extension
switched on (the book has it off: the escaping alone must suffice), to HTML and to LaTeX.
"""

from __future__ import annotations

import docutils.core
import matplotlib
import pandas as pd
import pytest
from myst_parser.parsers.docutils_ import Parser

from nkreport.report import markup, tables

from adversarial import INJECTION_PAYLOADS

matplotlib.use("Agg")

EXTENSIONS = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]


def render(source: str, writer: str) -> str:
    settings = {
        "myst_enable_extensions": EXTENSIONS,
        "output_encoding": "unicode",
        "report_level": 5,
        "myst_substitutions": {"trial_bsi_events": "SUBSTITUTED"},
        "file_insertion_enabled": True,
        "raw_enabled": True,
    }
    if writer == "latex":
        settings.update(use_latex_citations=False, legacy_column_widths=True)
    return docutils.core.publish_string(source, parser=Parser(), writer_name=writer, settings_overrides=settings)


def doctree(source: str):
    settings = {
        "myst_enable_extensions": EXTENSIONS,
        "report_level": 5,
        "myst_substitutions": {"trial_bsi_events": "SUBSTITUTED"},
    }
    return docutils.core.publish_doctree(source, parser=Parser(), settings_overrides=settings)


def payload_table(payload: str) -> str:
    frame = pd.DataFrame({"study": [payload], "note": [f"note: {payload}"]})
    return tables.to_myst_table(frame, name="tbl-payload", caption=f"caption {payload}")


@pytest.mark.parametrize("name", sorted(INJECTION_PAYLOADS))
def test_payload_is_one_text_cell_in_the_doctree(name):
    payload = INJECTION_PAYLOADS[name]
    tree = doctree(payload_table(payload))
    from docutils import nodes

    tables_found = list(tree.findall(nodes.table))
    assert len(tables_found) == 1
    cells = [entry.astext() for entry in tables_found[0].findall(nodes.entry)]
    flat = " ".join(payload.split())  # line breaks inside data become spaces
    assert cells[2:] == [flat, f"note: {flat}"]
    assert tables_found[0].findall(nodes.title) and f"caption {flat}" in tables_found[0].astext()
    for kind in (
        nodes.raw,
        nodes.reference,
        nodes.math,
        nodes.math_block,
        nodes.admonition,
        nodes.literal,
        nodes.substitution_reference,
        nodes.system_message,
        nodes.emphasis,
    ):
        assert not list(tree.findall(kind)), (name, kind)
    assert "SUBSTITUTED" not in tree.astext()


@pytest.mark.parametrize("name", sorted(INJECTION_PAYLOADS))
def test_payload_is_escaped_text_in_html(name):
    html = render(payload_table(INJECTION_PAYLOADS[name]), "html5")
    body = html.split("<body>", 1)[1]
    assert "<script" not in body and "onerror=" not in body.replace("onerror=&quot;", "")
    assert "href=\"javascript" not in body and "<img" not in body
    assert "SUBSTITUTED" not in body


@pytest.mark.parametrize("name", ["math_role", "latex_input", "dollar_math"])
def test_payload_is_escaped_text_in_latex(name):
    latex = render(payload_table(INJECTION_PAYLOADS[name]), "latex")
    body = latex.split("\\begin{document}", 1)[1]
    assert "\\input{" not in body and "\\write18" not in body
    assert "\\(" not in body and "$x^$" not in body.replace("\\$x\\^{}\\$", "")


def test_the_book_has_no_substitution_extension(root):
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    assert "substitution" not in config["parse"]["myst_enable_extensions"]


def test_escape_covers_every_ascii_punctuation_and_control_character():
    for code in range(0x21, 0x7F):
        char = chr(code)
        if not char.isalnum():
            assert markup.escape(char) == f"&#{code};"
    assert markup.escape("a\rb\nc\u2028d\x00e") == "a b c d e"
    assert markup.escape("Kyoto 京都 – é") == "Kyoto 京都 – é"
    assert markup.text(markup.Markup("`field`")) == "`field`"


def test_code_block_fence_outlasts_any_backtick_run():
    body = "echo ```` done"
    block = markup.code_block(body, "bash")
    tree = doctree(block)
    from docutils import nodes

    blocks = list(tree.findall(nodes.literal_block))
    assert len(blocks) == 1 and blocks[0].astext() == body


@pytest.mark.parametrize("label", ["Bad $x^$ label", "$$", "cost $5 and $6", "\\$ already"])
def test_mathtext_labels_draw_as_typed(label):
    from matplotlib.figure import Figure

    figure = Figure()
    axes = figure.subplots()
    text = axes.text(0, 0, markup.mathtext(label))
    axes.set_yticks([0], [markup.mathtext(label)])
    figure.canvas.draw()  # raises on invalid mathtext
    rendered, is_math = text._preprocess_math(text.get_text())
    assert not is_math and rendered == label


def test_figures_escape_study_labels():
    from nkreport import data
    from nkreport.report import figures

    cohorts = data.load_cohorts()
    cohorts.loc[cohorts["outcome"] == "bsi", "study"] = INJECTION_PAYLOADS["dollar_math"]
    figure = figures.forest_raw(cohorts, "bsi")
    figure.canvas.draw()
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert all(label.startswith("Bad \\$x^\\$ label") for label in labels)
