"""The shipped data: valid, complete provenance, and the facts of the evidence sheet."""

from __future__ import annotations

import pandas as pd
import pytest

from nkreport import data
from nkreport.data.schema import COHORT_COLUMNS, VERIFIED
from nkreport.report import tables


def test_shipped_data_is_valid():
    assert data.validate_all() == []


def test_every_row_has_source_location_and_flag():
    cohorts = data.load_cohorts(use=None)
    for column in ("source", "location", "verified"):
        assert (cohorts[column].str.len() > 0).all(), column
    assert set(cohorts["verified"]) <= set(VERIFIED)
    for loader in (data.load_baseline, data.load_risk_factors, data.load_trial_design_table):
        frame = loader()
        assert (frame["source"].str.len() > 0).all()
        assert (frame["verified"].str.len() > 0).all()


def test_trial_counts_match_the_evidence_sheet():
    cohorts = data.load_cohorts()
    trial = cohorts[cohorts["role"] == "trial"].set_index("outcome")
    assert (trial.loc["bsi", "events"], trial.loc["bsi", "n"]) == (6, 19)
    assert (trial.loc["rejection", "events"], trial.loc["rejection", "n"]) == (7, 19)
    assert (trial.loc["related_ae", "events"], trial.loc["related_ae", "n"]) == (0, 19)
    design = data.load_trial_design()
    assert design["planned_n"] == "37" and design["infused_n"] == "19"


def test_earlier_arms_match_the_evidence_sheet():
    cohorts = data.load_cohorts().set_index("cohort_id")
    assert tuple(cohorts.loc["hiroshima2011_nk_bsi", ["events", "n"]]) == (1, 21)
    assert tuple(cohorts.loc["hiroshima2011_control_bsi", ["events", "n"]]) == (6, 21)
    assert tuple(cohorts.loc["shimizu2022_nk_bsi", ["events", "n"]]) == (3, 26)
    assert tuple(cohorts.loc["shimizu2022_control_bsi", ["events", "n"]]) == (20, 55)


def test_sensitivity_rows_are_kept_apart():
    primary = data.load_cohorts()
    everything = data.load_cohorts(use=None)
    assert len(everything) > len(primary)
    assert set(primary["use"]) == {"primary"}


def test_printed_percent_discrepancies_found():
    found = tables.printed_percent_discrepancies(data.load_cohorts(use=None))
    assert "ohira2025_bsi" in set(found["cohort_id"])  # 31.5 % printed, 6/19 = 31.58 %
    assert "lee2019_bsi" in set(found["cohort_id"])  # 9.7 % printed, 57/596 = 9.56 %
    assert "kimsh2020_bsi" not in set(found["cohort_id"])  # 14.9 % = 108/727 rounded


def test_baseline_table_rows():
    table = tables.baseline_table(data.load_baseline())
    abo = table[table["characteristic"] == "ABO-incompatible"].iloc[0]
    assert abo["summary"] == "6 (32\u202f%)"  # a narrow no-break space before the sign


@pytest.mark.parametrize(
    "edit, field",
    [
        (("events", "6", "25"), "events"),
        (("n", "19", "0"), "n"),
        (("role", "trial", "pilot"), "role"),
        (("verified", "yes", ""), "verified"),
    ],
)
def test_invalid_value_names_file_line_and_field(data_copy, edit, field):
    path = data_copy / "cohorts" / "ohira2025_trial.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    column, old, new = edit
    assert frame.loc[0, column] == old
    frame.loc[0, column] = new
    frame.to_csv(path, index=False)
    problems = data.validate_all(data_copy)
    assert problems, "the corruption was not detected"
    message = str(problems[0])
    assert "ohira2025_trial.csv" in message
    assert "line 2" in message
    assert f"field '{field}'" in message
    assert "Fix:" in message


def test_cross_file_check_trial_n_against_design(data_copy):
    path = data_copy / "trial" / "design.csv"
    path.write_text(path.read_text().replace("infused_n,19,", "infused_n,20,"))
    problems = [str(p) for p in data.validate_all(data_copy)]
    assert any("infused_n = 20" in p for p in problems)


def test_load_cohorts_raises_with_all_problems(data_copy):
    path = data_copy / "cohorts" / "ohira2025_trial.csv"
    path.write_text(path.read_text().replace(",bsi,6,19,", ",bsi,6.5,19,"))
    with pytest.raises(data.DataValidationError) as err:
        data.load_cohorts(data_copy)
    assert "field 'events'" in str(err.value)


def test_schema_lists_every_cohort_column():
    header = (data.cohort_files()[0]).read_text().splitlines()[0].split(",")
    assert header == [spec.name for spec in COHORT_COLUMNS]
