"""Binomial intervals, exact tests and two-sample comparisons against independent references."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nkreport.analysis import endpoints


def test_clopper_pearson_scipy_documented_example():
    # scipy.stats.binomtest documentation: 7 of 50, proportion_ci() -> (0.058191700, 0.267396002)
    low, high = endpoints.clopper_pearson(7, 50)
    assert low == pytest.approx(0.058191700, abs=1e-9)
    assert high == pytest.approx(0.267396002, abs=1e-9)


def test_clopper_pearson_matches_scipy_binomtest():
    for events, n in [(6, 19), (0, 19), (19, 19), (3, 7)]:
        ci = stats.binomtest(events, n).proportion_ci(0.95, method="exact")
        low, high = endpoints.clopper_pearson(events, n)
        assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_wilson_closed_form():
    events, n, z = 6, 19, stats.norm.ppf(0.975)
    p = events / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    iv = endpoints.wilson(events, n)
    assert (iv.low, iv.high) == pytest.approx((centre - half, centre + half), abs=1e-12)


def test_jeffreys_is_beta_quantiles():
    iv = endpoints.jeffreys(6, 19)
    assert iv.low == pytest.approx(stats.beta.ppf(0.025, 6.5, 13.5), abs=1e-10)
    assert iv.high == pytest.approx(stats.beta.ppf(0.975, 6.5, 13.5), abs=1e-10)


def test_mid_p_limits_solve_their_defining_equations():
    events, n = 6, 19
    iv = endpoints.mid_p(events, n)
    # lower limit: P(X > 6) + P(X = 6)/2 = 0.025, summed by hand from the pmf
    upper_tail = sum(stats.binom.pmf(k, n, iv.low) for k in range(events + 1, n + 1))
    assert upper_tail + 0.5 * stats.binom.pmf(events, n, iv.low) == pytest.approx(0.025, abs=1e-10)
    lower_tail = sum(stats.binom.pmf(k, n, iv.high) for k in range(events))
    assert lower_tail + 0.5 * stats.binom.pmf(events, n, iv.high) == pytest.approx(0.025, abs=1e-10)


def test_mid_p_is_inside_clopper_pearson():
    for events in range(0, 20):
        cp_low, cp_high = endpoints.clopper_pearson(events, 19)
        iv = endpoints.mid_p(events, 19)
        assert cp_low <= iv.low + 1e-12 and iv.high <= cp_high + 1e-12


def test_binomial_intervals_frame():
    table = endpoints.binomial_intervals(6, 19)
    assert list(table["method"]) == list(endpoints.INTERVAL_METHODS)
    assert (table["estimate"] == 6 / 19).all()
    assert ((table["low"] < 6 / 19) & (table["high"] > 6 / 19)).all()


def test_one_sided_tests_by_summing_the_pmf():
    events, n, rate = 6, 19, 57 / 596
    result = endpoints.one_sided_binomial_tests(events, n, rate)
    pmf = stats.binom.pmf(np.arange(n + 1), n, rate)
    assert result["p_lower"] == pytest.approx(pmf[: events + 1].sum(), rel=1e-10)
    assert result["p_higher"] == pytest.approx(pmf[events:].sum(), rel=1e-10)


def _comparators():
    return pd.DataFrame(
        {
            "cohort_id": ["a", "b"],
            "study": ["A", "B"],
            "role": ["external_baseline", "earlier_untreated"],
            "events": [57, 6],
            "n": [596, 21],
            "window_days": pd.array([30, pd.NA], dtype="Int64"),
            "verified": ["yes", "yes"],
        }
    )


def test_tests_against_rates_frame():
    table = endpoints.tests_against_rates(6, 19, _comparators())
    assert list(table["comparator"]) == ["A", "B"]
    assert table.loc[0, "window_days"] == 30 and pd.isna(table.loc[1, "window_days"])
    assert table.loc[1, "p_higher"] == pytest.approx(stats.binomtest(6, 19, 6 / 21, alternative="greater").pvalue)


def test_newcombe_difference_from_wilson_limits():
    # Newcombe's hybrid: combine the two Wilson intervals (closed form)
    e1, n1, e2, n2 = 6, 19, 20, 55
    p1, p2 = e1 / n1, e2 / n2
    w1, w2 = endpoints.wilson(e1, n1), endpoints.wilson(e2, n2)
    low = p1 - p2 - np.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)
    high = p1 - p2 + np.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)
    result = endpoints.two_sample_comparison(e1, n1, e2, n2)
    assert (result["rd_low"], result["rd_high"]) == pytest.approx((low, high), abs=1e-10)


def test_fisher_by_enumerating_the_hypergeometric():
    e1, n1, e2, n2 = 6, 19, 6, 21
    total = e1 + e2
    dist = stats.hypergeom(n1 + n2, total, n1)
    support = np.arange(max(0, total - n2), min(total, n1) + 1)
    pmf = dist.pmf(support)
    observed = dist.pmf(e1)
    two_sided = pmf[pmf <= observed * (1 + 1e-7)].sum()
    result = endpoints.two_sample_comparison(e1, n1, e2, n2)
    assert result["fisher_p"] == pytest.approx(min(1.0, two_sided), rel=1e-9)
    assert result["fisher_p_lower"] == pytest.approx(dist.cdf(e1), rel=1e-9)


def test_boschloo_scipy_documented_example():
    # scipy.stats.boschloo_exact documentation: columns are samples (74/117 vs 31/63 "very
    # satisfied"), alternative="greater" prints pvalue 0.0355 (truncated to 4 decimals)
    result = stats.boschloo_exact([[74, 31], [43, 32]], alternative="greater")
    assert result.pvalue == pytest.approx(0.0355, abs=1e-4)
    # our "lower" direction: the 31/63 arm has the lower rate than the 74/117 arm
    ours = endpoints.two_sample_comparison(31, 63, 74, 117)
    assert ours["boschloo_p_lower"] == pytest.approx(result.pvalue, rel=1e-9)


def test_boschloo_not_above_fisher_one_sided():
    # Boschloo's test is uniformly more powerful than Fisher's (Boschloo 1970)
    for counts in [(6, 19, 20, 55), (6, 19, 6, 21), (1, 21, 6, 21)]:
        result = endpoints.two_sample_comparison(*counts)
        assert result["boschloo_p_lower"] <= result["fisher_p_lower"] + 1e-12


def test_comparisons_against_arms_frame():
    table = endpoints.comparisons_against_arms(6, 19, _comparators())
    assert len(table) == 2
    assert table.loc[1, "risk_difference"] == pytest.approx(6 / 19 - 6 / 21)


def test_zero_event_bound_closed_form_and_rule_of_three():
    bound = endpoints.zero_event_upper_bound(19)
    assert bound["exact_upper"] == pytest.approx(1 - 0.05 ** (1 / 19), rel=1e-12)
    assert bound["rule_of_three"] == pytest.approx(3 / 19)
    # at the exact bound, P(0 events) is exactly 5 %
    assert stats.binom.pmf(0, 19, bound["exact_upper"]) == pytest.approx(0.05, rel=1e-10)
    assert bound["exact_upper"] < bound["rule_of_three"]
