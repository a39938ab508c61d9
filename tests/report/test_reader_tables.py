"""Tables as a reader scans them: the evidence table split into a compact table and a sources
table, intervals that never wrap, the reader's column names instead of code names."""

from __future__ import annotations

import pandas as pd

from nkreport.report import tables

COHORTS = pd.DataFrame(
    {
        "cohort_id": ["a_nk_bsi", "b_ctl_bsi"],
        "study": ["Study A 2020", "Study B 2021"],
        "role": ["trial", "external_baseline"],
        "outcome": ["bsi", "bsi"],
        "events": [6, 10],
        "n": [19, 100],
        "window_days": [30, None],
        "printed_percent": [34.2, 10.0],
        "printed_decimals": [1, 0],
        "source": ["doi:10.1371/journal.pone.0313102", "PMID:21822169"],
        "location": ["Table 2", "Results, p. 3"],
        "verified": ["yes", "abstract"],
    }
)


def test_compact_table_has_the_columns_a_reader_scans_and_unbroken_intervals():
    table = tables.cohort_table(COHORTS)
    assert list(table.columns) == [
        "study", "role", "outcome", "events/n", "% (exact 95 % CI)", "window (days)", "verified"
    ]
    cell = table.loc[0, "% (exact 95 % CI)"]
    estimate, interval = cell.split(" ", 1)  # the cell may wrap only between the two
    assert estimate == "31.6\u202f%"
    assert " " not in interval, "an interval must not wrap: its spaces are non-breaking"
    assert interval == "(12.6\u202f%\u00a0to\u00a056.6\u202f%)"
    assert table.loc[1, "window (days)"] == "not stated"


def test_sources_table_lists_every_row_in_the_same_order():
    sources = tables.cohort_sources_table(COHORTS)
    assert list(sources.columns) == ["study", "outcome", "source", "location", "verified"]
    assert list(sources["study"]) == list(tables.cohort_table(COHORTS)["study"])
    assert list(sources["source"]) == ["doi:10.1371/journal.pone.0313102", "PMID:21822169"]


def test_discrepancy_table_uses_the_readers_names():
    shown = tables.discrepancy_display_table(tables.printed_percent_discrepancies(COHORTS))
    assert list(shown.columns) == ["cohort row", "study", "events/n", "printed %", "computed %"]
    assert shown.to_dict("records") == [
        {"cohort row": "a_nk_bsi", "study": "Study A 2020", "events/n": "6/19", "printed %": "34.2",
         "computed %": "31.58"}
    ]
    assert not any("_" in column for column in shown.columns)


def test_two_sample_table_is_its_own_table_with_unbroken_intervals():
    from nkreport.analysis import endpoints

    arms = pd.DataFrame(
        {"comparator": ["Arm A"], "role": ["earlier_untreated"], "comparator_events": [6], "comparator_n": [21],
         "comparator_rate": [6 / 21], "window_days": [90], "verified": ["yes"], "p_lower": [0.5], "p_higher": [0.5]}
    )
    result = endpoints.two_sample_comparison(6, 19, 6, 21)
    two = pd.DataFrame([{"comparator": "Arm A", **result}])
    shown = tables.two_sample_test_table(arms, two)
    assert list(shown.columns)[:2] == ["untreated arm", "events/n"]
    assert shown.loc[0, "events/n"] == "6/21"
    cell = shown.iloc[0, 2]
    point, interval = cell.split(" ", 1)
    assert point == f"{100 * result['risk_difference']:+.1f}"
    assert " " not in interval and interval.startswith("(") and interval.endswith(")")
    assert len(tables.comparator_test_table(arms).columns) == 8, "the one-sample table stays narrow"
