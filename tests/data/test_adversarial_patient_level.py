"""Adversarial corpus, class 4: patient-level files. Patient codes shaped like a birth date, a
name or a record number; sidecars whose ``simulated`` flag disagrees with the file name, whose
columns disagree with the header, or whose ``cohort_id`` names no cohort."""

from __future__ import annotations

import json

import pytest

from adversarial import make_world, problems_of, refused

SIMULATED = "simulated/SIMULATED_ipd_example"


@pytest.fixture()
def world(tmp_path):
    return make_world(tmp_path)


def _set_first_id(world, code: str) -> None:
    path = world[0] / f"{SIMULATED}.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = code + lines[1][lines[1].index(",") :]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    "code", ["19610402", "1961-04-02", "02-04-1961", "TaroYamada", "Smith", "MRN4471", "4471023", "hosp-12"]
)
def test_patient_codes_that_could_identify_a_patient(world, code):
    _set_first_id(world, code)
    problem = refused(problems_of(world), file=f"{SIMULATED}.csv", line=2, field="patient_id")
    assert "identify" in problem.message


def _edit_sidecar(world, **changes) -> None:
    path = world[0] / f"{SIMULATED}.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    path.write_text(json.dumps(meta), encoding="utf-8")


def test_simulated_file_whose_sidecar_says_real(world):
    _edit_sidecar(world, simulated=False)
    refused(problems_of(world), file=f"{SIMULATED}.json", line=None, field="simulated")


def test_real_file_named_simulated_or_not(world):
    source = world[0] / f"{SIMULATED}.csv"
    target = world[0] / "simulated" / "records.csv"
    source.rename(target)
    source.with_suffix(".json").rename(target.with_suffix(".json"))
    refused(problems_of(world), file="simulated/records.json", line=None, field="simulated")


def test_simulated_flag_must_be_boolean(world):
    _edit_sidecar(world, simulated="yes")
    refused(problems_of(world), file=f"{SIMULATED}.json", line=None, field="simulated")


def test_sidecar_columns_must_equal_the_header(world):
    _edit_sidecar(world, columns=["patient_id", "death_day", "days_to_bsi", "end_of_followup"])
    refused(problems_of(world), file=f"{SIMULATED}.json", line=None, field="columns")


def test_cohort_id_must_name_a_cohort(world):
    _edit_sidecar(world, cohort_id="no_such_cohort")
    refused(problems_of(world), file=f"{SIMULATED}.json", line=None, field="cohort_id")


def test_duplicate_key_in_a_patient_level_sidecar(world):
    path = world[0] / f"{SIMULATED}.json"
    path.write_text(path.read_text(encoding="utf-8").rstrip()[:-1] + ', "simulated": false}', encoding="utf-8")
    refused(problems_of(world), file=f"{SIMULATED}.json", line=_dup_line(path), field="simulated")


def _dup_line(path):
    lines = [i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if '"simulated"' in row]
    return lines[1] if len(lines) > 1 else lines[0]


@pytest.mark.parametrize("value", ["²", "٣", "１２"])
def test_days_with_foreign_digits(world, value):
    path = world[0] / f"{SIMULATED}.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    code, _, _, end = lines[1].split(",")
    lines[1] = f"{code},{value},,{end}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(problems_of(world), file=f"{SIMULATED}.csv", line=2, field="days_to_bsi")


def test_hidden_patient_level_file(world):
    (world[0] / "simulated" / ".SIMULATED_other.csv").write_text("patient_id\n", encoding="utf-8")
    refused(problems_of(world), file="simulated/.SIMULATED_other.csv", line=None, field=None)
