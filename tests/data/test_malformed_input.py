"""Every kind of malformed cohort input gives one clear message: file, line, field, and a fix.

Each test copies the shipped data folder (and the BibTeX file) to a temporary folder, breaks
one thing, and checks the problem the validator reports.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nkreport import data, paths
from nkreport.data.schema import COHORT_COLUMNS

ROOT = paths.project_root()
HEADER = [s.name for s in COHORT_COLUMNS]


def example_row(**changes) -> dict[str, str]:
    """A valid row (the schema's examples), changed as given. A TEST FIXTURE, not data."""
    row = {s.name: s.example for s in COHORT_COLUMNS}
    row.update(cohort_id="fixture_nk_bsi", study_id="fixture", study="Test fixture (not data)")
    row.update({k: str(v) for k, v in changes.items()})
    return row


@pytest.fixture()
def world(tmp_path: Path):
    """A copy of data/ and book/references.bib; returns (data_dir, bib_path)."""
    data_dir = tmp_path / "data"
    shutil.copytree(ROOT / "data", data_dir)
    bib = tmp_path / "references.bib"
    shutil.copy(ROOT / "book" / "references.bib", bib)
    return data_dir, bib


def write_cohort(
    data_dir: Path, stem: str, rows: list[dict], *, header=None, sidecar=True, references=("ohira2025",), delimiter=","
) -> Path:
    header = header or HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    path = data_dir / "cohorts" / f"{stem}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    if sidecar:
        meta = {
            "title": "Test fixture.",
            "references": list(references),
            "columns": list(header),
            "cohort_ids": [row.get("cohort_id", "") for row in rows],
        }
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def problems_of(world) -> list[data.Problem]:
    data_dir, bib = world
    return data.validate_all(data_dir, bib)


def only(problems: list[data.Problem], *, file: str, line, field) -> data.Problem:
    """The single problem reported, checked to name the file, line and field and a fix."""
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert problem.file.endswith(file), str(problem)
    assert problem.line == line, str(problem)
    assert problem.field == field, str(problem)
    text = str(problem)
    assert text.startswith(problem.file)
    assert ". Fix: " in text and len(problem.fix) > 10
    if line is not None:
        assert f"line {line}" in text
    if field is not None:
        assert f"field '{field}'" in text
    return problem


def test_shipped_data_is_valid():
    assert data.validate_all() == []


def test_fixture_row_is_valid(world):
    write_cohort(world[0], "fixture", [example_row()])
    assert problems_of(world) == []


# ----------------------------------------------------------------------- field values


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("events", "-1", "negative"),
        ("n", "-30", "negative"),
        ("events", "2.5", "not a whole number"),
        ("n", "30.0", "not a whole number"),
        ("events", "NaN", "missing-value marker"),
        ("n", "NA", "missing-value marker"),
        ("n", "12000000", "implausibly large"),
        ("n", "1,200", "not a whole number"),
        ("events", "four", "not a number"),
        ("window_days", "one month", "not a number"),
        ("window_days", "0", "between 1 and 3650"),
        ("window_days", "30.5", "not a whole number"),
        ("printed_percent", "140", "between 0 and 100"),
        ("printed_percent", "13.3%", "between 0 and 100"),
        ("role", "historical", "unknown"),
        ("outcome", "infection", "unknown"),
        ("arm", "treated", "unknown"),
        ("verified", "maybe", "unknown"),
        ("use", "main", "unknown"),
        ("source", "", "empty"),
        ("verified", "", "empty"),
        ("source", "NA", "missing-value marker"),
        ("cohort_id", "Smith-2026", "not a valid identifier"),
    ],
)
def test_bad_field_value(world, field, value, words):
    row = example_row(**{field: value})
    write_cohort(world[0], "fixture", [row])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field=field)
    assert words in problem.message
    assert repr(value) in problem.message or value == ""


def test_events_greater_than_n(world):
    write_cohort(world[0], "fixture", [example_row(events=31, n=30)])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field="events")
    assert "greater than n = 30" in problem.message


def test_n_zero(world):
    write_cohort(world[0], "fixture", [example_row(events=0, n=0)])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field="n")
    assert "is 0" in problem.message


@pytest.mark.parametrize(
    ("role", "arm"),
    [("earlier_treated", "control"), ("trial", "control"), ("earlier_untreated", "nk"), ("external_baseline", "nk")],
)
def test_role_arm_inconsistent(world, role, arm):
    write_cohort(world[0], "fixture", [example_row(role=role, arm=arm)])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field="arm")
    assert role in problem.message


def test_row_number_is_the_file_line(world):
    rows = [example_row(cohort_id=f"fixture_{i}") for i in range(4)]
    rows[2]["events"] = "x"
    write_cohort(world[0], "fixture", rows)
    only(problems_of(world), file="cohorts/fixture.csv", line=4, field="events")


# ----------------------------------------------------------------------- identifiers


def test_duplicate_id_within_file(world):
    write_cohort(world[0], "fixture", [example_row(), example_row()])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=3, field="cohort_id")
    assert "line 2" in problem.message


def test_duplicate_id_across_files(world):
    write_cohort(world[0], "fixture", [example_row(cohort_id="lee2019_bsi", role="external_baseline", arm="control")])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field="cohort_id")
    assert "external_bsi.csv, line 2" in problem.message


def test_no_trial_row(world):
    (world[0] / "cohorts" / "ohira2025_trial.csv").unlink()
    (world[0] / "cohorts" / "ohira2025_trial.json").unlink()
    problem = only(problems_of(world), file="cohorts", line=None, field="role")
    assert "trial" in problem.message


def test_trial_n_disagrees_with_design(world):
    path = world[0] / "cohorts" / "ohira2025_trial.csv"
    path.write_text(path.read_text().replace(",6,19,30,", ",6,20,30,"), encoding="utf-8")
    problem = only(problems_of(world), file="cohorts/ohira2025_trial.csv", line=2, field="n")
    assert "infused_n = 19" in problem.message


# ----------------------------------------------------------------------- file level


def test_wrong_delimiter(world):
    write_cohort(world[0], "fixture", [example_row()], delimiter=";")
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=1, field=None)
    assert "';'" in problem.message and "commas" in problem.fix


def test_not_utf8(world):
    path = write_cohort(world[0], "fixture", [example_row(study="Müller 2026 (fixture)")])
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field=None)
    assert "UTF-8" in problem.message and "UTF-8" in problem.fix


def test_byte_order_mark(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=1, field=None)
    assert "BOM" in problem.message


def test_empty_file(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.write_bytes(b"")
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=None, field=None)
    assert "empty" in problem.message


def test_blank_rows_only(world):
    path = write_cohort(world[0], "fixture", [])
    path.write_text(path.read_text() + ",,,\n\n", encoding="utf-8")
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=None, field=None)
    assert "no rows" in problem.message


def test_header_only(world):
    write_cohort(world[0], "fixture", [])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=None, field=None)
    assert "no rows" in problem.message


def test_blank_first_line(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.write_text("\n" + path.read_text(), encoding="utf-8")
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=1, field=None)
    assert "header" in problem.message


def test_binary_file(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=None, field=None)
    assert "not a text file" in problem.message


def test_nul_byte_late_in_file(world):
    path = write_cohort(world[0], "fixture", [example_row(note="x" * 9000)])
    path.write_bytes(path.read_bytes().rstrip(b"\n") + b"\x00\n")
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field=None)
    assert "NUL" in problem.message


def test_extra_column(world):
    row = example_row(comment="x")
    write_cohort(world[0], "fixture", [row], header=HEADER + ["comment"])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=1, field="comment")
    assert "not a known column" in problem.message


def test_missing_column(world):
    write_cohort(world[0], "fixture", [example_row()], header=[h for h in HEADER if h != "source"])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=1, field="source")
    assert "missing" in problem.message


def test_missing_verified_column(world):
    write_cohort(world[0], "fixture", [example_row()], header=[h for h in HEADER if h != "verified"])
    only(problems_of(world), file="cohorts/fixture.csv", line=1, field="verified")


def test_duplicate_column(world):
    write_cohort(world[0], "fixture", [example_row()], header=HEADER + ["note"])
    only(problems_of(world), file="cohorts/fixture.csv", line=1, field="note")


def test_ragged_rows(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1] + ",surplus\n", encoding="utf-8")
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=2, field=None)
    assert "17 fields" in problem.message and "16" in problem.message


@pytest.mark.parametrize("column", ["patient_name", "dob", "mrn", "address", "date_of_birth", "email"])
def test_identifier_columns_refused(world, column):
    write_cohort(world[0], "fixture", [example_row(**{column: "x"})], header=HEADER + [column])
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=1, field=column)
    assert "identifier" in problem.message and "refused" in problem.message
    assert "identify patients" in problem.message  # says why


def test_stray_file(world):
    (world[0] / "cohorts" / "notes.xlsx").write_bytes(b"PK\x03\x04")
    problem = only(problems_of(world), file="cohorts/notes.xlsx", line=None, field=None)
    assert "CSV" in problem.fix


# ----------------------------------------------------------------------- sidecars


def test_sidecar_missing(world):
    write_cohort(world[0], "fixture", [example_row()], sidecar=False)
    problem = only(problems_of(world), file="cohorts/fixture.csv", line=None, field=None)
    assert "fixture.json" in problem.message


def test_sidecar_invalid_json(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.with_suffix(".json").write_text('{"title": "x",\n "references": [}', encoding="utf-8")
    problem = only(problems_of(world), file="cohorts/fixture.json", line=2, field=None)
    assert "JSON" in problem.message


def test_sidecar_columns_disagree(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["columns"] = meta["columns"][::-1]
    path.with_suffix(".json").write_text(json.dumps(meta))
    only(problems_of(world), file="cohorts/fixture.json", line=None, field="columns")


def test_sidecar_ids_disagree(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["cohort_ids"] = ["someone_else"]
    path.with_suffix(".json").write_text(json.dumps(meta))
    problem = only(problems_of(world), file="cohorts/fixture.json", line=None, field="cohort_ids")
    assert "fixture_nk_bsi" in problem.message


def test_sidecar_missing_key(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    meta = json.loads(path.with_suffix(".json").read_text())
    del meta["title"]
    path.with_suffix(".json").write_text(json.dumps(meta))
    only(problems_of(world), file="cohorts/fixture.json", line=None, field="title")


def test_sidecar_unknown_key(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["author"] = "me"
    path.with_suffix(".json").write_text(json.dumps(meta))
    only(problems_of(world), file="cohorts/fixture.json", line=None, field="author")


def test_sidecar_without_table(world):
    (world[0] / "cohorts" / "orphan.json").write_text("{}")
    only(problems_of(world), file="cohorts/orphan.json", line=None, field=None)


def test_reference_not_in_bibliography(world):
    write_cohort(world[0], "fixture", [example_row()], references=["nosuchkey2026"])
    problem = only(problems_of(world), file="cohorts/fixture.json", line=None, field="references")
    assert "nosuchkey2026" in problem.message and "references.bib" in problem.message


def test_validation_error_lists_every_problem(world):
    write_cohort(world[0], "fixture", [example_row(events=-1), example_row(cohort_id="fixture_b", role="bogus")])
    with pytest.raises(data.DataValidationError) as caught:
        data.load_cohorts(world[0], bib_path=world[1])
    assert len(caught.value.problems) == 2
    assert "line 2" in str(caught.value) and "line 3" in str(caught.value)


def test_validate_path_one_file(world):
    path = write_cohort(world[0], "fixture", [example_row(events=40)])
    problems = data.validate_path(path, world[1])
    only(problems, file="cohorts/fixture.csv", line=2, field="events")


def test_simulated_folder_is_not_read_as_cohorts(world):
    table = data.load_cohorts(world[0], use=None, bib_path=world[1])
    assert table["file"].str.contains("/cohorts/").all()
    assert data.validate_cohorts(world[0], world[1])[1] == []


def test_patient_level_file_checked_as_such(world):
    path = world[0] / "simulated" / "SIMULATED_ipd_example.csv"
    lines = path.read_text().splitlines()
    lines[1] = "SIM001,95,,90"
    path.write_text("\n".join(lines) + "\n")
    problem = only(problems_of(world), file="simulated/SIMULATED_ipd_example.csv", line=2, field="days_to_bsi")
    assert "after end_of_followup" in problem.message


# ----------------------------------------------------------------------- property-based


def _load_file_bytes(data_dir: Path, bib: Path, raw: bytes) -> None:
    path = data_dir / "cohorts" / "fuzz.csv"
    path.write_bytes(raw)
    problems = data.validate_path(path, bib)
    for problem in problems:
        assert ". Fix: " in str(problem)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=600))
def test_fuzz_random_bytes(world, raw):
    _load_file_bytes(*world, raw)


cell = st.one_of(
    st.text(alphabet=string.printable, max_size=12),
    st.integers(-5, 2_000_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "NA", "nan", "yes", "nk", "control", "bsi", "trial", "30", "0"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(cell, min_size=16, max_size=16) | st.lists(cell, max_size=18), max_size=4),
    sidecar=st.booleans(),
)
def test_fuzz_random_rows(world, rows, sidecar):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    if sidecar:
        meta = {
            "title": "fuzz",
            "references": ["ohira2025"],
            "columns": HEADER,
            "cohort_ids": [r[0] if r else "" for r in rows],
        }
        (world[0] / "cohorts" / "fuzz.json").write_text(json.dumps(meta))
    _load_file_bytes(*world, buffer.getvalue().encode("utf-8"))


valid_rows = st.builds(
    lambda i, events, extra, role_arm, outcome, window, verified: example_row(
        cohort_id=f"fuzz_{i}",
        study_id=f"fuzz_{i}",
        events=events,
        n=events + extra,
        role=role_arm[0],
        arm=role_arm[1],
        outcome=outcome,
        window_days=window,
        printed_percent="",
        verified=verified,
    ),
    st.integers(0, 10**6 - 5000),
    st.integers(0, 5000),
    st.integers(1, 5000),
    st.sampled_from([("earlier_treated", "nk"), ("earlier_untreated", "control"), ("external_baseline", "control")]),
    st.sampled_from(["bsi", "rejection", "related_ae", "hcc_recurrence"]),
    st.one_of(st.just(""), st.integers(1, 3650).map(str)),
    st.sampled_from(["yes", "derived", "unverified"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(valid_rows, min_size=1, max_size=5, unique_by=lambda r: r["cohort_id"]))
def test_valid_generated_rows_load(world, rows):
    write_cohort(world[0], "fuzz", rows)
    table = data.load_cohorts(world[0], use=None, bib_path=world[1])
    loaded = table[table["file"].str.endswith("fuzz.csv")]
    assert list(loaded["cohort_id"]) == [r["cohort_id"] for r in rows]
    assert list(loaded["events"]) == [int(r["events"]) for r in rows]
    assert list(loaded["n"]) == [int(r["n"]) for r in rows]
