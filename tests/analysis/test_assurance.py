"""Assurance: exact Fisher regions and power against scipy and brute force, and against simulation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from nkreport import SEED
from nkreport.analysis import assurance


@pytest.mark.parametrize("n", [1, 5, 9])
def test_fisher_p_values_match_scipy(n):
    p = assurance.fisher_p_values(n)
    for x_c, x_t in itertools.product(range(n + 1), repeat=2):
        reference = stats.fisher_exact([[x_t, n - x_t], [x_c, n - x_c]], alternative="less").pvalue
        assert p[x_c, x_t] == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_power_matches_brute_force_enumeration():
    n = 8
    for p_c, p_t in [(0.4, 0.1), (0.3, 0.3), (0.5, 0.05)]:
        brute = 0.0
        for x_c, x_t in itertools.product(range(n + 1), repeat=2):
            p = stats.fisher_exact([[x_t, n - x_t], [x_c, n - x_c]], alternative="less").pvalue
            if p <= assurance.ALPHA:
                brute += stats.binom.pmf(x_c, n, p_c) * stats.binom.pmf(x_t, n, p_t)
        assert assurance.power(n, p_c, p_t)[0] == pytest.approx(brute, abs=1e-12)


def test_no_effect_keeps_the_type_one_error_below_alpha():
    for p in (0.1, 0.3, 0.5):
        assert assurance.power(60, p, p)[0] <= assurance.ALPHA


def test_power_grows_with_sample_size_and_effect():
    sizes = [20, 60, 150]
    powers = [assurance.power(n, 0.35, 0.15)[0] for n in sizes]
    assert powers == sorted(powers) and powers[-1] > 0.9
    assert assurance.power(80, 0.35, 0.10)[0] > assurance.power(80, 0.35, 0.20)[0]


def test_assurance_matches_simulated_trials():
    rng = np.random.default_rng(SEED)
    control = rng.beta(30, 60, size=4000)
    log_or = rng.normal(-0.8, 0.6, size=4000)
    exact = assurance.assurance(40, control, log_or)
    simulated = assurance.simulate_assurance(40, control, log_or, seed=SEED)
    se = np.sqrt(exact["assurance"] * (1 - exact["assurance"]) / len(control))
    assert abs(exact["assurance"] - simulated) < 4 * se


def test_assurance_is_bounded_by_the_probability_of_benefit():
    rng = np.random.default_rng(SEED + 1)
    control = rng.uniform(0.2, 0.4, 2000)
    log_or = rng.normal(-0.5, 0.8, 2000)
    curve = assurance.assurance_curve(control, log_or, sample_sizes=(50, 400, 1500))
    assert list(curve["assurance"]) == sorted(curve["assurance"])
    assert curve["assurance"].iloc[-1] <= curve["p_beneficial"].iloc[0] + 0.01
    assert assurance.smallest_n(curve, 0.01) == 50
    assert assurance.smallest_n(curve, 0.999) is None


# ----------------------------------------------------------------- the rebuilt next trial


def test_conditional_assurance_fixes_the_control_risk():
    rng = np.random.default_rng(11)
    log_or = rng.normal(-0.5, 0.4, 300)
    exact = assurance.conditional_assurance(60, 0.15, log_or)
    simulated = assurance.simulate_assurance(60, np.full(300, 0.15), log_or, seed=3)
    powers = assurance.power(60, np.full(300, 0.15), assurance.treated_risk(0.15, log_or))
    assert exact["assurance"] == pytest.approx(powers.mean(), abs=1e-12)
    assert abs(exact["assurance"] - simulated) < 4 * np.sqrt(0.25 / 300) + 0.03


def test_effect_probabilities_and_absolute_effects():
    log_or = np.log(np.array([0.5, 0.6, 0.8, 1.2, 0.69]))
    probabilities = assurance.effect_probabilities(log_or)
    assert probabilities == {"p_harm": 0.2, "p_benefit": 0.8, "p_important": 0.6}
    rng = np.random.default_rng(5)
    draws = rng.normal(-0.4, 0.5, 20001)
    table = assurance.absolute_effects(draws, (0.1, 0.3)).set_index("control_risk")
    for risk in (0.1, 0.3):
        # closed form: the odds ratio's quantiles map through p_t = expit(logit p_c + log OR)
        quantiles = np.quantile(draws, [0.025, 0.5, 0.975])
        odds = risk / (1 - risk) * np.exp(quantiles)
        expected = 1000 * (odds / (1 + odds) - risk)
        row = table.loc[risk]
        assert [row["difference_low"], row["difference_median"], row["difference_high"]] == pytest.approx(
            expected, abs=0.05
        )
        assert row["nk_per_median"] == pytest.approx(1000 * risk + expected[1], abs=0.05)


def test_conditional_assurance_grid_has_every_cell():
    log_or = np.random.default_rng(2).normal(-0.4, 0.5, 200)
    grid = assurance.conditional_assurance_grid({"a": log_or}, (0.1, 0.3), (40, 80))
    assert len(grid) == 4
    cell = grid[(grid["control_risk"] == 0.3) & (grid["n_per_arm"] == 80)]["assurance"].iloc[0]
    assert cell == pytest.approx(assurance.conditional_assurance(80, 0.3, log_or)["assurance"])
