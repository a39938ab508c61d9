"""The reader-facing build hooks (nkreport.build.reading) and the PDF's table columns."""

from __future__ import annotations

from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from nkreport.build import publish, reading


def _document(text: str) -> nodes.document:
    settings = get_default_settings(Parser)
    document = new_document("test", settings)
    Parser().parse(text, document)
    return document


def test_typeset_doctree_changes_prose_and_cells_but_not_code_math_or_addresses():
    document = _document(
        "BSI in 34.2 % (95 % CI 12 % to 56 %), difference -3.4.\n\n"
        "``keep 5 %`` and :math:`x = -1` stay.\n\n"
        "`https://example.org/a-1 %20 <https://example.org/a-1 %20>`_\n\n"
        "::\n\n    code -1 and 5 %\n"
    )
    reading.typeset_doctree(document)
    text = document.astext()
    assert "34.2\u202f%" in text and "95\u202f%" in text and "\u22123.4" in text
    assert "keep 5 %" in text and "x = -1" in text and "code -1 and 5 %" in text


def test_hidden_inputs_leave_the_printed_book_but_outputs_stay():
    cell = nodes.container(nb_element="cell_code", hide_mode="input")
    cell += nodes.container("", nodes.literal_block("", "tables.cohort_table(x)"), nb_element="cell_code_source")
    cell += nodes.container("", nodes.paragraph("", "output"), nb_element="cell_code_output")
    shown = nodes.container(nb_element="cell_code")
    shown += nodes.container("", nodes.literal_block("", "visible()"), nb_element="cell_code_source")
    document = _document("text")
    document += [cell, shown]
    assert reading.drop_hidden_inputs(document) == 1
    assert "tables.cohort_table" not in document.astext()
    assert "output" in document.astext() and "visible()" in document.astext()


def test_pdf_is_linked_relative_to_each_page_and_published_beside_the_html(tmp_path):
    assert reading.pdf_href("index") == "nkreport.pdf"
    assert reading.pdf_href("book/02_evidence") == "../nkreport.pdf"
    (tmp_path / "latex").mkdir()
    (tmp_path / "html").mkdir()
    (tmp_path / "latex" / "nkreport.pdf").write_bytes(b"%PDF-1.5 test")
    copy = reading.publish_pdf(tmp_path)
    assert copy == tmp_path / "html" / reading.PDF_NAME and copy.read_bytes() == b"%PDF-1.5 test"


def test_publish_pdf_names_the_missing_pdf(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="build the PDF first"):
        reading.publish_pdf(tmp_path)


def test_code_font_identifiers_get_a_column_as_wide_as_themselves():
    rows = [["field", "meaning"], ["days_to_bsi_onset_long", "x " * 80], ["end_of_follow_up", "y"]]
    widths = publish.latex_column_widths(rows, line_chars=80, unbreakable=[len("days_to_bsi_onset_long"), 0])
    assert widths[0] >= len("days_to_bsi_onset_long") + 2
    table = nodes.table()
    group = nodes.tgroup(cols=2)
    table += group
    body = nodes.tbody()
    group += body
    row = nodes.row()
    row += nodes.entry("", nodes.paragraph("", "", nodes.literal("", "end_of_follow_up")))
    row += nodes.entry("", nodes.paragraph("", "PMID:21822169 and doi:10.1007/s10096-020-04074-5"))
    body += row
    assert publish.literal_widths(table) == [len("end_of_follow_up"), 0]
    publish._allow_breaks_in_long_words(table)
    raws = [r.astext() for r in table.findall(nodes.raw)]
    assert raws, "long identifiers in plain text get break points"
    literal = next(iter(table.findall(nodes.literal)))
    assert not list(literal.findall(nodes.raw)), "an identifier in code font is never broken"


def test_runs_held_by_no_break_spaces_and_code_set_the_columns_need():
    interval = "(12.6\u202f%\u00a0to\u00a056.6\u202f%)"
    rows = [["%", "field"], [f"31.6\u202f% {interval}", "end_of_followup"]]
    need = publish.latex_column_widths(rows, line_chars=10, unbreakable=[0, len("end_of_followup")])
    assert need[0] == len(interval) + 2, "an interval is never broken, so its whole length is needed"
    assert need[1] == round(publish.LATEX_MONO_WIDTH * len("end_of_followup")) + 2


def test_appendix_tables_are_lettered_as_in_the_pdf():
    from types import SimpleNamespace

    from sphinx import addnodes

    root = nodes.document(None, None)
    for caption, numbered, entries in (
        ("What the trial showed", True, ["book/01_trial"]),
        ("Appendices", False, ["book/appendix_adding_cohort", "book/appendix_data_dictionary"]),
    ):
        toctree = addnodes.toctree(caption=caption, numbered=numbered, entries=[(None, e) for e in entries])
        root += toctree
    env = SimpleNamespace(
        get_doctree=lambda name: root,
        all_docs={"book/01_trial": 0, "book/appendix_adding_cohort": 0, "book/appendix_data_dictionary": 0},
        toc_fignumbers={
            "book/01_trial": {"table": {"t1": (1, 1)}},
            "book/appendix_data_dictionary": {"table": {"b2": (5,), "b1": (4,)}, "figure": {"f": (2,)}},
        },
    )
    app = SimpleNamespace(config=SimpleNamespace(root_doc="book/index"), builder=SimpleNamespace(format="html"))
    letters = reading.appendix_letters(app, env)
    assert letters == {"book/appendix_adding_cohort": "A", "book/appendix_data_dictionary": "B"}
    reading.letter_appendix_numbers(app, env)
    assert env.toc_fignumbers["book/appendix_data_dictionary"] == {
        "table": {"b1": ("B", 1), "b2": ("B", 2)},
        "figure": {"f": ("B", 1)},
    }
    assert env.toc_fignumbers["book/01_trial"] == {"table": {"t1": (1, 1)}}
