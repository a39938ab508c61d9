"""Adversarial corpus, class 2: field values that cannot be right. Free-text, malformed or
placeholder sources; missing-value markers and template placeholders in required fields;
digits other than 0-9; texts too long or spanning lines; free text naming a patient.
Each is refused with file, line, field and a fix."""

from __future__ import annotations

import pytest

from nkreport.data.schema import COHORT_COLUMNS

from adversarial import example_row, make_world, problems_of, refused, write_cohort


@pytest.fixture()
def world(tmp_path):
    return make_world(tmp_path)


BAD_SOURCES = [
    "personal communication",
    "doi:10.1000",
    "doi:10.1000/",
    "-",
    "unknown",
    "N/A",
    "see the paper",
    "Am J Transplant 2022",
    "javascript:alert(1)",
    "http://localhost",
    "ftp://example.org/x",
    "PMID: 123",
    "PMID:abc",
    "www.example.org/paper",
    "https://",
    "doi:10.1186/s12893 019",
]


@pytest.mark.parametrize("source", BAD_SOURCES)
def test_source_must_be_a_doi_pmid_url_or_registry_id(world, source):
    write_cohort(world[0], "fixture", [example_row(source=source)])
    problem = refused(problems_of(world), file="cohorts/fixture.csv", line=2, field="source")
    assert "doi:" in problem.fix and "PMID" in problem.fix


@pytest.mark.parametrize(
    "source",
    [
        "doi:10.1186/s12893-019-0658-6",
        "PMID:21822169",
        "NCT01147380",
        "https://jrct.niph.go.jp/latest-detail/jRCTa060190036",
        "UMIN000019183",
    ],
)
def test_good_sources_pass(world, source):
    write_cohort(world[0], "fixture", [example_row(source=source)])
    assert problems_of(world) == []


MARKERS = ["n/a", "N/A", "unknown", "-", "NA", "none", "?", "TBD", "—", "not available"]
REQUIRED_TEXT = [s.name for s in COHORT_COLUMNS if s.required and s.kind in ("text", "source")]


@pytest.mark.parametrize("marker", MARKERS)
@pytest.mark.parametrize("field", REQUIRED_TEXT)
def test_missing_markers_are_refused_in_every_required_text_field(world, field, marker):
    write_cohort(world[0], "fixture", [example_row(**{field: marker})])
    refused(problems_of(world), file="cohorts/fixture.csv", line=2, field=field)


@pytest.mark.parametrize("placeholder", ["FILL: text", "FILL:text", "fill: x", "  FILL: padded"])
def test_template_placeholders_are_refused_in_either_spelling(world, placeholder):
    write_cohort(world[0], "fixture", [example_row(design=placeholder)])
    problem = refused(problems_of(world), file="cohorts/fixture.csv", line=2, field="design")
    assert "placeholder" in problem.message


@pytest.mark.parametrize(
    "value, field",
    [
        ("٣", "events"),
        ("３", "events"),
        ("1²", "n"),
        ("٣٠", "window_days"),
        ("１１.５", "printed_percent"),
        ("³0", "window_days"),
    ],
)
def test_only_ascii_digits_in_numeric_fields(world, value, field):
    write_cohort(world[0], "fixture", [example_row(**{field: value})])
    problem = refused(problems_of(world), file="cohorts/fixture.csv", line=2, field=field)
    assert "0-9" in problem.message + problem.fix


@pytest.mark.parametrize("field, length", [("study", 20_000), ("study", 81), ("note", 401), ("design", 201)])
def test_text_fields_have_length_limits(world, field, length):
    write_cohort(world[0], "fixture", [example_row(**{field: "x" * length})])
    problem = refused(problems_of(world), file="cohorts/fixture.csv", line=2, field=field)
    assert "characters" in problem.message
    assert len(str(problem)) < 600  # the message never repeats a huge value


@pytest.mark.parametrize("value", ["line one\rline two", "line one\nline two", "tab\there", "nul-free \x1b[31m"])
def test_control_characters_in_quoted_fields_are_refused(world, value):
    write_cohort(world[0], "fixture", [example_row(note=value)])
    problems = [p for p in problems_of(world) if p.file.endswith("cohorts/fixture.csv")]
    assert problems and all(p.line in (2, 3) and p.fix for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize(
    "note",
    [
        "patient Taro Yamada, born 1961-04-02, MRN 4471023",
        "DOB 02/04/1961",
        "medical record number 123",
        "contact taro@example.org",
        "admitted 2019-03-05",
        "call 090-1234-5678",
    ],
)
def test_free_text_naming_a_patient_is_refused(world, note):
    write_cohort(world[0], "fixture", [example_row(note=note)])
    problem = refused(problems_of(world), file="cohorts/fixture.csv", line=2, field="note")
    assert "identify" in problem.message


def test_sidecar_title_naming_a_patient_is_refused(world):
    write_cohort(world[0], "fixture", [example_row()], sidecar={"title": "Records of J. Smith, born 1960-01-01"})
    refused(problems_of(world), file="cohorts/fixture.json", line=None, field="title")


@pytest.mark.parametrize("cohort_id", ["x" * 65, "Upper_case", "with space", "é_accent", "-lead"])
def test_identifiers(world, cohort_id):
    write_cohort(world[0], "fixture", [example_row(cohort_id=cohort_id)])
    refused(problems_of(world), file="cohorts/fixture.csv", line=2, field="cohort_id")
