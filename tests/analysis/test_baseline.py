"""The trial against assumed control risks, each quantity against an independent reference:
the Beta cdf and seeded Monte Carlo for the posterior, a hand sum of binomial pmfs for the
exact test, brute-force grid searches for the tipping risks, a conditional likelihood written
out here (grid maximisation, Cornfield tails by root finding) for the conditional odds ratio,
and the closed-form integer-shape sum, the reversed integral, two-dimensional quadrature and
Monte Carlo for the probability that the trial's risk is below an arm's."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from nkreport import data
from nkreport.analysis import baseline, endpoints

ROOT = Path(__file__).resolve().parents[2]
TRIAL = (6, 19)
#: Counts beside the trial's: no events, all events, a rare outcome, a larger trial.
COUNTS = [TRIAL, (0, 19), (19, 19), (2, 30), (12, 40)]
CONTROL_RISKS = [0.05, 0.0956, 0.15, 0.2857, 0.3636, 0.5, 0.6]


@pytest.fixture(scope="module")
def cohorts():
    return data.load_cohorts(use="primary")


@pytest.fixture(scope="module")
def rates(cohorts):
    return baseline.untreated_rates(cohorts, "bsi")


def _jeffreys(events, n):
    return stats.beta(events + 0.5, n - events + 0.5)


# --------------------------------------------------------------------------- implied effect


@pytest.mark.parametrize("events, n", COUNTS)
def test_p_below_control_is_the_beta_cdf(events, n):
    curve = baseline.implied_effect_curve(events, n, CONTROL_RISKS)
    expected = stats.beta.cdf(CONTROL_RISKS, events + 0.5, n - events + 0.5)
    np.testing.assert_allclose(curve["p_below_control"], expected, rtol=1e-12, atol=1e-15)
    assert curve["control_risk"].tolist() == CONTROL_RISKS


@pytest.mark.parametrize("events, n", [TRIAL, (0, 19), (12, 40)])
def test_p_below_control_and_or_quantiles_against_monte_carlo(events, n):
    draws = np.random.default_rng(20250101 + events).beta(events + 0.5, n - events + 0.5, size=2_000_000)
    curve = baseline.implied_effect_curve(events, n, CONTROL_RISKS)
    for row in curve.itertuples():
        c = row.control_risk
        below = float(np.mean(draws < c))
        se = math.sqrt(max(below * (1 - below), 1e-6) / draws.size)
        assert row.p_below_control == pytest.approx(below, abs=6 * se)
        implied = (draws / (1 - draws)) / (c / (1 - c))
        assert float(np.mean(implied < 1)) == pytest.approx(row.p_below_control, abs=6 * se)
        low, median, high = np.quantile(implied, [0.025, 0.5, 0.975])
        assert row.or_median == pytest.approx(median, rel=5e-3)
        assert row.or_low == pytest.approx(low, rel=1.5e-2 if events == 0 else 5e-3)
        assert row.or_high == pytest.approx(high, rel=5e-3)


def test_a_prior_and_a_level_change_the_curve_as_stated():
    flat = baseline.implied_effect_curve(6, 19, [0.3], prior=(1.0, 1.0), level=0.8).iloc[0]
    posterior = stats.beta(7, 14)
    assert flat["p_below_control"] == pytest.approx(posterior.cdf(0.3), rel=1e-12)
    odds = posterior.ppf([0.1, 0.5, 0.9]) / (1 - posterior.ppf([0.1, 0.5, 0.9])) / (0.3 / 0.7)
    assert [flat["or_low"], flat["or_median"], flat["or_high"]] == pytest.approx(list(odds), rel=1e-12)
    assert flat["level"] == 0.8


@pytest.mark.parametrize("events, n", COUNTS)
def test_p_value_lower_is_a_hand_sum_of_binomial_pmfs(events, n):
    curve = baseline.implied_effect_curve(events, n, CONTROL_RISKS)
    for c, p_value in zip(CONTROL_RISKS, curve["p_value_lower"], strict=True):
        hand = math.fsum(math.comb(n, x) * c**x * (1 - c) ** (n - x) for x in range(events + 1))
        assert p_value == pytest.approx(hand, rel=1e-10, abs=1e-15)


def test_the_curve_at_the_data_reads_as_the_text_says():
    curve = baseline.implied_effect_curve(*TRIAL)
    np.testing.assert_array_equal(curve["control_risk"], baseline.CONTROL_RISK_GRID)
    assert np.all(np.diff(curve["or_median"]) < 0)  # a higher control risk: a smaller odds ratio
    assert np.all(np.diff(curve["p_below_control"]) > 0)
    assert np.all(np.diff(curve["p_value_lower"]) < 0)
    assert np.all((curve["or_low"] < curve["or_median"]) & (curve["or_median"] < curve["or_high"]))
    interval = endpoints.jeffreys(*TRIAL)
    assert curve["risk_low"].iloc[0] == pytest.approx(interval.low, rel=1e-10)
    assert curve["risk_high"].iloc[0] == pytest.approx(interval.high, rel=1e-10)


@pytest.mark.parametrize("bad", [[0.0], [1.0], [-0.1], [0.2, 1.2]])
def test_control_risks_outside_0_1_are_refused(bad):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        baseline.implied_effect_curve(6, 19, bad)


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError, match="events <= n"):
        baseline.implied_effect_curve(20, 19)


# --------------------------------------------------------------------------- tipping risks

FINE = np.linspace(0.0, 1.0, 1_000_001)  # step 1e-6


@pytest.mark.parametrize("events, n", COUNTS)
@pytest.mark.parametrize("level", baseline.TIPPING_LEVELS)
def test_the_posterior_tipping_risk_by_grid_search(events, n, level):
    probability = stats.beta.cdf(FINE, events + 0.5, n - events + 0.5)
    first = FINE[np.argmax(probability >= level)]
    result = baseline.tipping_risk(events, n, level)
    assert result["level"] == level
    assert result["control_risk"] == pytest.approx(first, abs=1.01e-6)
    assert first - 1e-6 <= result["control_risk"] <= first
    reached = baseline.implied_effect_curve(events, n, [result["control_risk"]])["p_below_control"].iloc[0]
    assert reached == pytest.approx(level, abs=1e-10)


@pytest.mark.parametrize("events, n", [c for c in COUNTS if c[0] < c[1]])
@pytest.mark.parametrize("level", baseline.TIPPING_LEVELS)
def test_the_exact_test_tipping_risk_by_grid_search(events, n, level):
    x = np.arange(events + 1)
    coefficients = np.array([math.comb(n, int(k)) for k in x], dtype=float)
    inner = FINE[1:-1]
    p_values = (coefficients[None, :] * inner[:, None] ** x * (1 - inner[:, None]) ** (n - x)).sum(axis=1)
    alpha = 1 - level
    first = inner[np.argmax(p_values <= alpha)]
    result = baseline.tipping_risk(events, n, level)
    assert result["alpha"] == pytest.approx(alpha)
    assert first - 1e-6 <= result["test_control_risk"] <= first
    p_there = stats.binomtest(events, n, result["test_control_risk"], alternative="less").pvalue
    assert p_there == pytest.approx(alpha, rel=1e-9)
    # the Jeffreys posterior asks for a lower control risk than the exact test
    assert result["control_risk"] < result["test_control_risk"]


def test_the_exact_test_never_tips_when_every_patient_has_the_event():
    assert math.isnan(baseline.tipping_risk(19, 19, 0.95)["test_control_risk"])


def test_the_test_tipping_risk_is_the_one_sided_clopper_pearson_bound():
    _, high = endpoints.clopper_pearson(6, 19, level=0.90)  # two-sided 90 % = one-sided 95 %
    assert baseline.tipping_risk(6, 19, 0.95)["test_control_risk"] == pytest.approx(float(high), rel=1e-10)


def test_tipping_risks_has_one_row_per_level():
    table = baseline.tipping_risks(*TRIAL)
    assert table["level"].tolist() == list(baseline.TIPPING_LEVELS)
    assert np.all(np.diff(table["control_risk"]) > 0)
    assert np.all(np.diff(table["test_control_risk"]) > 0)
    # the default grid shows every crossing
    grid = baseline.CONTROL_RISK_GRID
    assert grid.min() < table["control_risk"].min() and table["test_control_risk"].max() < grid.max()


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5])
def test_a_level_outside_0_1_is_refused(level):
    with pytest.raises(ValueError, match="level"):
        baseline.tipping_risk(6, 19, level)


# --------------------------------------------------------------------------- conditional odds ratio


def _conditional_log_likelihood(log_psi, a, n1, c, n2):
    """log P(X = a | psi) for X the first sample's events given all margins, written out."""
    m = a + c
    support = np.arange(max(0, m - n2), min(n1, m) + 1)
    log_choose = np.array(
        [math.lgamma(n1 + 1) - math.lgamma(x + 1) - math.lgamma(n1 - x + 1) for x in support]
    ) + np.array([math.lgamma(n2 + 1) - math.lgamma(m - x + 1) - math.lgamma(n2 - m + x + 1) for x in support])
    log_psi = np.atleast_1d(log_psi)
    terms = log_choose[None, :] + support[None, :] * log_psi[:, None]
    own = log_choose[support == a][0] + a * log_psi
    return own - special.logsumexp(terms, axis=1)


def _brute_force_conditional_or(a, n1, c, n2, level=0.95):
    coarse = np.linspace(-10, 10, 20_001)
    best = coarse[np.argmax(_conditional_log_likelihood(coarse, a, n1, c, n2))]
    fine = np.linspace(best - 2e-3, best + 2e-3, 40_001)
    estimate = math.exp(fine[np.argmax(_conditional_log_likelihood(fine, a, n1, c, n2))])
    m, total, tail = a + c, n1 + n2, (1 - level) / 2

    def upper_tail(log_psi):  # P(X >= a | psi) - tail
        return stats.nchypergeom_fisher.sf(a - 1, total, n1, m, math.exp(log_psi)) - tail

    def lower_tail(log_psi):  # P(X <= a | psi) - tail
        return stats.nchypergeom_fisher.cdf(a, total, n1, m, math.exp(log_psi)) - tail

    low = math.exp(optimize.brentq(upper_tail, -15, 15, xtol=1e-12))
    high = math.exp(optimize.brentq(lower_tail, -15, 15, xtol=1e-12))
    return estimate, low, high


ARM_COUNTS = [(20, 55), (41, 118), (6, 21), (34, 144), (108, 727), (57, 596)]


@pytest.mark.parametrize("arm", ARM_COUNTS + [(3, 40), (15, 20)])
def test_the_conditional_odds_ratio_against_the_written_out_likelihood(arm):
    estimate, low, high = _brute_force_conditional_or(*TRIAL, *arm)
    result = baseline.conditional_odds_ratio(*TRIAL, *arm)
    assert result["or_conditional"] == pytest.approx(estimate, rel=1e-6)
    assert result["or_conditional_low"] == pytest.approx(low, rel=1e-9)
    assert result["or_conditional_high"] == pytest.approx(high, rel=1e-9)


# --------------------------------------------------------------------------- P(trial < arm)


def _integer_shape_sum(a1, b1, a2, b2):
    """P(p1 < p2) for p1 ~ Beta(a1, b1), p2 ~ Beta(a2, b2) with integer a2: the closed-form sum
    sum_{i<a2} B(a1 + i, b1 + b2) / ((b2 + i) B(1 + i, b2) B(a1, b1))."""
    i = np.arange(int(a2))
    log_terms = special.betaln(a1 + i, b1 + b2) - np.log(b2 + i) - special.betaln(1 + i, b2) - special.betaln(a1, b1)
    return float(np.exp(log_terms).sum())


@pytest.mark.parametrize("trial", [TRIAL, (0, 19), (19, 19)])
@pytest.mark.parametrize("arm", ARM_COUNTS + [(0, 10), (10, 10), (6, 19)])
def test_p_trial_below_arm_against_the_integer_shape_sum(trial, arm):
    """A Beta(1, 1) prior (test only) makes every shape an integer."""
    (y, n), (e, m) = trial, arm
    exact = _integer_shape_sum(y + 1, n - y + 1, e + 1, m - e + 1)
    assert baseline.prob_trial_below_arm(y, n, e, m, prior=(1.0, 1.0)) == pytest.approx(exact, abs=1e-10)


@pytest.mark.parametrize("arm", ARM_COUNTS + [(0, 10), (10, 10)])
def test_p_trial_below_arm_against_the_reversed_integral_and_monte_carlo(arm):
    e, m = arm
    trial, control = _jeffreys(*TRIAL), _jeffreys(e, m)
    # the other order of integration: over the trial's density, with the arm's survival function
    reversed_order = integrate.quad(
        lambda x: trial.pdf(x) * control.sf(x), 0, 1, epsabs=1e-14, epsrel=1e-12, limit=500
    )[0]
    result = baseline.prob_trial_below_arm(*TRIAL, e, m)
    assert result == pytest.approx(reversed_order, abs=1e-9)
    # and the complement: P(p_arm < p_trial) computed by the function with the roles swapped
    assert result + baseline.prob_trial_below_arm(e, m, *TRIAL) == pytest.approx(1.0, abs=1e-10)
    rng = np.random.default_rng(7 + e)
    size = 4_000_000
    below = float(np.mean(trial.rvs(size, random_state=rng) < control.rvs(size, random_state=rng)))
    assert result == pytest.approx(below, abs=6 * math.sqrt(max(below * (1 - below), 1e-6) / size))


def test_p_trial_below_arm_against_dblquad():
    trial, control = _jeffreys(*TRIAL), _jeffreys(6, 21)
    # the region p_trial < p_arm: outer variable the arm's risk y, inner the trial's x in (0, y)
    reference = integrate.dblquad(
        lambda x, y: trial.pdf(x) * control.pdf(y), 0, 1, 0, lambda y: y, epsabs=1e-12, epsrel=1e-10
    )[0]
    assert baseline.prob_trial_below_arm(*TRIAL, 6, 21) == pytest.approx(reference, abs=1e-9)


def test_the_same_counts_are_even_odds():
    assert baseline.prob_trial_below_arm(6, 19, 6, 19) == pytest.approx(0.5, abs=1e-12)


# --------------------------------------------------------------------------- the untreated rates


def _raw_untreated_rows(outcome="bsi", use="primary"):
    """The untreated rows of ``outcome`` read straight from the CSV files, not through the loader."""
    frame = pd.concat(
        [
            pd.read_csv(path, dtype={"window_days": "Int64"})
            for path in sorted((ROOT / "data" / "cohorts").glob("*.csv"))
        ]
    )
    keep = (frame["outcome"] == outcome) & frame["role"].isin(["earlier_untreated", "external_baseline"])
    if use is not None:
        keep &= frame["use"] == use
    return frame[keep].set_index("cohort_id")


def test_every_untreated_bsi_row_of_the_data_is_there(rates):
    raw = _raw_untreated_rows()
    assert sorted(rates["cohort_id"]) == sorted(raw.index)
    assert "lee2019_bsi" in set(rates["cohort_id"])
    table = rates.set_index("cohort_id")
    for cohort_id, row in raw.iterrows():
        assert table.loc[cohort_id, "comparator_events"] == row["events"]
        assert table.loc[cohort_id, "comparator_n"] == row["n"]
        assert table.loc[cohort_id, "comparator_rate"] == pytest.approx(row["events"] / row["n"], rel=1e-15)
        assert table.loc[cohort_id, "role"] == row["role"]
        assert table.loc[cohort_id, "comparator"] == row["study"]
    assert list(rates["comparator_rate"]) == sorted(rates["comparator_rate"], reverse=True)


def test_windows_are_kept_and_missing_windows_stay_missing(rates):
    raw = _raw_untreated_rows()
    table = rates.set_index("cohort_id")
    assert str(rates["window_days"].dtype) == "Int64"
    assert table.loc["lee2019_bsi", "window_days"] == 30
    assert table.loc["lee2019_bsi", "label"] == "Lee 2019, 30 d"
    assert table.loc["hiroshima2011_control_bsi", "label"] == "Hiroshima, 90 d"
    missing = [cohort_id for cohort_id, w in raw["window_days"].items() if pd.isna(w)]
    assert missing  # the data has rows without a stated window
    for cohort_id in raw.index:
        window = table.loc[cohort_id, "window_days"]
        if cohort_id in missing:
            assert window is pd.NA
            assert table.loc[cohort_id, "window_label"] == "window not stated"
        else:
            assert window == raw.loc[cohort_id, "window_days"]
            assert table.loc[cohort_id, "window_label"] == f"{window} d"
    assert set(rates["trial_window_days"]) == {30}


def test_the_curves_are_read_at_each_rate(rates):
    curve = baseline.implied_effect_curve(*TRIAL, rates["comparator_rate"].to_numpy())
    for column in ("or_median", "or_low", "or_high", "p_below_control", "p_value_lower"):
        np.testing.assert_allclose(rates[column], curve[column], rtol=1e-14)
    np.testing.assert_allclose(
        rates["p_below_control"], stats.beta.cdf(rates["comparator_rate"], 6.5, 13.5), rtol=1e-12
    )


def test_the_two_sample_columns_are_those_of_endpoints(rates):
    for row in rates.itertuples():
        expected = endpoints.two_sample_comparison(*TRIAL, row.comparator_events, row.comparator_n)
        for key, value in expected.items():
            assert getattr(row, key) == pytest.approx(value, rel=1e-12), key
        assert row.p_trial_below_arm == pytest.approx(
            baseline.prob_trial_below_arm(*TRIAL, row.comparator_events, row.comparator_n), rel=1e-12
        )
        conditional = baseline.conditional_odds_ratio(*TRIAL, row.comparator_events, row.comparator_n)
        assert row.or_conditional == pytest.approx(conditional["or_conditional"], rel=1e-12)


def test_sensitivity_rows_join_when_every_row_is_loaded():
    every = baseline.untreated_rates(data.load_cohorts(use=None))
    assert sorted(every["cohort_id"]) == sorted(_raw_untreated_rows(use=None).index)
    assert "shimizu2022m_control_bsi" in set(every["cohort_id"])


def test_an_outcome_without_a_trial_row_or_untreated_rows_is_refused(cohorts):
    with pytest.raises(ValueError, match="one trial row"):
        baseline.untreated_rates(cohorts, "hcc_recurrence")
    with pytest.raises(ValueError, match="no untreated rows"):
        baseline.untreated_rates(cohorts, "related_ae")
