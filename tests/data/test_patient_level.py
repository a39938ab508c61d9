"""Patient-level data: schema, summary to counts, Aalen-Johansen cumulative incidence.

The references: a small case computed by hand, the Kaplan-Meier estimator when there is no
competing event, the empirical proportion when nobody is censored, and the closed-form
cumulative incidence of the simulation's discrete hazards.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from nkreport import paths
from nkreport.analysis import competing_risks
from nkreport.data import DataValidationError, patient_level

ROOT = paths.project_root()
HEADER = "patient_id,days_to_bsi,death_day,end_of_followup\n"


def records(rows) -> pd.DataFrame:
    """rows of (patient_id, days_to_bsi, death_day, end_of_followup); None = empty."""
    frame = pd.DataFrame(rows, columns=["patient_id", "days_to_bsi", "death_day", "end_of_followup"])
    for column in ("days_to_bsi", "death_day", "end_of_followup"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame


# Hand-computed case. Times: 1 BSI (A), 2 death (B), 3 censored (C), 4 BSI (D), 5 censored (E).
#   t=1: at risk 5, CIF = 1/5 = 0.2,            event-free S = 0.8
#   t=2: at risk 4, death,                      S = 0.8 * 3/4 = 0.6
#   t=3: C censored, at risk 2 afterwards
#   t=4: at risk 2, CIF = 0.2 + 0.6 * 1/2 = 0.5, S = 0.3
HAND = records(
    [
        ("A", 1, None, 90),
        ("B", None, 2, 2),
        ("C", None, None, 3),
        ("D", 4, None, 10),
        ("E", None, None, 5),
    ]
)


@pytest.mark.parametrize(("day", "expected"), [(0.5, 0.0), (1, 0.2), (3, 0.2), (3.99, 0.2), (4, 0.5), (30, 0.5)])
def test_aalen_johansen_hand_computed(day, expected):
    fitter = competing_risks.cumulative_incidence(HAND)
    assert competing_risks.incidence_at(fitter, day) == pytest.approx(expected, abs=1e-12)


def test_coding_of_hand_case():
    coded = competing_risks.competing_risks_coding(HAND)
    assert coded["time"].tolist() == [1, 2, 3, 4, 5]
    assert coded["event"].tolist() == [
        competing_risks.BSI,
        competing_risks.DEATH,
        competing_risks.CENSORED,
        competing_risks.BSI,
        competing_risks.CENSORED,
    ]


def test_summary_of_hand_case():
    summary = competing_risks.summarise(HAND, window_days=3)
    assert (summary.events, summary.n, summary.deaths_before_bsi, summary.censored_before_window) == (1, 5, 1, 0)
    summary = competing_risks.summarise(HAND, window_days=30)
    assert (summary.events, summary.n, summary.deaths_before_bsi, summary.censored_before_window) == (2, 5, 1, 2)


def test_bsi_on_day_of_death_counts_as_bsi():
    coded = competing_risks.competing_risks_coding(records([("A", 5, 5, 5), ("B", None, 7, 7)]))
    assert coded["event"].tolist() == [competing_risks.BSI, competing_risks.DEATH]


def test_equals_kaplan_meier_without_competing_events():
    rng = np.random.default_rng(1)
    n = 40
    bsi = rng.integers(1, 60, n)
    end = rng.integers(1, 60, n)
    frame = records(
        [(f"P{i}", int(b) if b <= e else None, None, int(e)) for i, (b, e) in enumerate(zip(bsi, end, strict=False))]
    )
    fitter = competing_risks.cumulative_incidence(frame)
    coded = competing_risks.competing_risks_coding(frame)
    km = KaplanMeierFitter().fit(coded["time"], coded["event"] == competing_risks.BSI)
    for day in (5, 15, 30, 59):
        assert competing_risks.incidence_at(fitter, day) == pytest.approx(
            1 - float(km.survival_function_at_times(day).iloc[0]), abs=1e-10
        )


def test_equals_empirical_proportion_without_censoring():
    frame = patient_level.simulate_ipd(n=400, seed=3, dropout_rate=1e-9, followup_days=3000, death_rate=0.01)
    frame = frame[frame["end_of_followup"] < 3000].reset_index(drop=True)  # nobody administratively censored
    frame = frame[frame["days_to_bsi"].notna() | frame["death_day"].notna()].reset_index(drop=True)
    fitter = competing_risks.cumulative_incidence(frame)
    coded = competing_risks.competing_risks_coding(frame)
    for day in (10, 30, 90):
        empirical = ((coded["event"] == competing_risks.BSI) & (coded["time"] <= day)).mean()
        assert competing_risks.incidence_at(fitter, day) == pytest.approx(empirical, abs=1e-10)


def test_ties_between_bsi_and_death_are_deterministic():
    frame = records([("A", 2, None, 9), ("B", None, 2, 2), ("C", None, None, 5), ("D", None, None, 5)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # lifelines warns when it has to jitter ties at random
        fitter = competing_risks.cumulative_incidence(frame)
    # simultaneous events: CIF(2) = S(2-) * d_bsi / at risk = 1 * 1/4
    assert competing_risks.incidence_at(fitter, 2) == pytest.approx(0.25)


def test_simulation_matches_closed_form():
    bsi_rate, death_rate = 0.012, 0.002
    frame = patient_level.simulate_ipd(n=20000, seed=11, bsi_rate=bsi_rate, death_rate=death_rate, dropout_rate=0.004)
    fitter = competing_risks.cumulative_incidence(frame)
    # discrete days: BSI on day k (k <= 30) before or on the day of death
    k = np.arange(1, 31)
    truth = np.sum(np.exp(-bsi_rate * (k - 1)) * (1 - np.exp(-bsi_rate)) * np.exp(-death_rate * (k - 1)))
    low, high = competing_risks.incidence_interval_at(fitter, 30)
    standard_error = (high - low) / (2 * 1.96)
    assert abs(competing_risks.incidence_at(fitter, 30) - truth) < 3 * standard_error
    assert low < truth < high


def test_interval_contains_estimate():
    fitter = competing_risks.cumulative_incidence(patient_level.simulate_ipd())
    low, high = competing_risks.incidence_interval_at(fitter, 30)
    assert 0 <= low < competing_risks.incidence_at(fitter, 30) < high <= 1


# ----------------------------------------------------------------------- files


def write(tmp_path: Path, body: str, name: str = "cohort_ipd.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_read_valid_file(tmp_path):
    frame = patient_level.read_ipd(write(tmp_path, "P1,3,,30\nP2,,12,12\nP3,,,30\n"))
    assert frame["days_to_bsi"].tolist()[0] == 3 and frame["death_day"].isna().tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("body", "line", "field", "words"),
    [
        ("P1,three,,30\n", 2, "days_to_bsi", "not a whole number"),
        ("P1,3,,-4\n", 2, "end_of_followup", "not a whole number"),
        ("P1,40,,30\n", 2, "days_to_bsi", "after end_of_followup"),
        ("P1,,12,30\n", 2, "death_day", "differs from end_of_followup"),
        ("P1,,,30\nP1,,,30\n", 2, "patient_id", "more than one row"),
        ("Smith John,,,30\n", 2, "patient_id", "fails"),
        ("P1,,,30,extra\n", 2, None, "fields"),
    ],
)
def test_invalid_records(tmp_path, body, line, field, words):
    with pytest.raises(DataValidationError) as caught:
        patient_level.read_ipd(write(tmp_path, body))
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (line, field), str(problem)
    assert words in problem.message and ". Fix: " in str(problem)


def test_identifier_column_refused(tmp_path):
    path = write(tmp_path, "P1,,,30,1960-01-01\n", header=HEADER.strip() + ",dob\n")
    with pytest.raises(DataValidationError) as caught:
        patient_level.read_ipd(path)
    assert caught.value.problems[0].field == "dob"


def test_simulated_flag_requires_simulated_name(tmp_path):
    path = write(tmp_path, "P1,,,30\n")
    meta = {"title": "x", "cohort_id": "x", "simulated": True, "columns": HEADER.strip().split(","), "generator": "x"}
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(DataValidationError) as caught:
        patient_level.read_ipd_sidecar(path)
    assert caught.value.problems[0].field == "simulated"


def test_shipped_simulated_example():
    path = ROOT / "data" / "simulated" / patient_level.SIMULATED_FILE
    assert "SIMULATED" in path.name
    meta = patient_level.read_ipd_sidecar(path)
    assert meta["simulated"] is True and "SIMULATED" in meta["title"]
    frame = patient_level.load_simulated()
    assert len(frame) == 60
    pd.testing.assert_frame_equal(
        frame, patient_level.simulate_ipd(n=60, seed=int(meta["generator"].split("--seed ")[1].split()[0]))
    )


def test_simulation_is_reproducible():
    pd.testing.assert_frame_equal(patient_level.simulate_ipd(seed=5), patient_level.simulate_ipd(seed=5))
    assert not patient_level.simulate_ipd(seed=5).equals(patient_level.simulate_ipd(seed=6))


# ----------------------------------------------------------------------- property-based

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

day = st.one_of(st.just(""), st.integers(-3, 4000).map(str), st.sampled_from(["NA", "1.5", "x"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.binary(max_size=300)
    | st.lists(st.tuples(st.text("PSIM0123", min_size=0, max_size=4), day, day, day), max_size=6).map(
        lambda rows: (HEADER + "".join(f"{p},{b},{d},{e}\n" for p, b, d, e in rows)).encode()
    )
)
def test_fuzz_reader(tmp_path, raw):
    path = tmp_path / "fuzz_ipd.csv"
    path.write_bytes(raw)
    try:
        frame = patient_level.read_ipd(path)
    except DataValidationError as err:
        assert err.problems and all(". Fix: " in str(p) for p in err.problems)
    else:  # whatever loads is analysable
        assert (frame["end_of_followup"] >= 0).all()
        competing_risks.summarise(frame, 30)
        competing_risks.cumulative_incidence(frame)
