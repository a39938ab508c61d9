"""The validation appendix's tables: one row per comparison with its verdict, and the per-tool
summary counts, from a comparison table (no computation in the report layer)."""

from __future__ import annotations

import math

import pandas as pd

from nkreport.report import validation


def _table():
    return pd.DataFrame(
        [
            {"folder": "a", "quantity": "x", "nkreport": 1.0, "peer": 1.0, "tool": "A 1", "difference": 0.0,
             "tolerance": "1e-08", "kind": "exact", "agrees": True, "as_documented": True, "verdict": "agrees",
             "note": ""},
            {"folder": "a", "quantity": "y", "nkreport": 2.0, "peer": 1.5, "tool": "A 1", "difference": 0.5,
             "tolerance": "gap 0.5 ± 1e-06", "kind": "peer_error", "agrees": False, "as_documented": True,
             "verdict": "peer error, as documented", "note": "peer truncates"},
            {"folder": "b", "quantity": "z", "nkreport": 3.0, "peer": math.nan, "tool": "B 2",
             "difference": math.nan, "tolerance": "", "kind": "peer_failure", "agrees": False,
             "as_documented": True, "verdict": "peer failed, as documented", "note": "the peer stopped"},
        ]
    )


def test_display_table_has_the_columns_and_marks_a_failed_peer():
    shown = validation.comparison_display_table(_table())
    assert list(shown.columns) == ["quantity", "nkreport", "peer", "tool and version", "difference", "tolerance",
                                   "verdict"]
    assert shown["peer"].tolist() == ["1", "1.5", "failed"]
    assert shown["difference"].tolist() == ["0", "5.0e−01", "—"]


def test_summary_counts_agreement_and_documented_peer_faults():
    summary = validation.verdict_summary_table(_table()).set_index("folder")
    assert summary.loc["validation/a", ["values", "agree", "peer at fault (documented)", "unexplained"]].tolist() == [
        2, 1, 1, 0]
    assert summary.loc["validation/b", "peer at fault (documented)"] == 1


def test_notes_table_lists_each_note_once():
    notes = validation.notes_table(_table())
    assert notes["note"].tolist() == ["peer truncates", "the peer stopped"]
