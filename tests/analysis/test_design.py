"""Design searches against brute force and direct formulas; interim quantities against quadrature
(Simon's published table is in the reference tier)."""

import itertools

import numpy as np
import pytest
from scipy import integrate, stats

from nkreport.analysis import design


def test_simon_error_rates_by_direct_formula():
    found = design.simon_designs(0.10, 0.30, 0.05, 0.20)["optimal"]
    for q, attained in ((0.10, found.alpha), (0.30, found.power)):
        # Simon (1989) eq. 1, summed term by term
        total = sum(
            stats.binom.pmf(x1, found.n1, q) * stats.binom.sf(found.r - x1, found.n - found.n1, q)
            for x1 in range(found.r1 + 1, found.n1 + 1)
        )
        assert attained == pytest.approx(total, rel=1e-10)
        assert design.simon_reject_probability(found.r1, found.n1, found.r, found.n, q) == pytest.approx(
            total, rel=1e-10
        )


def _brute_force_simon(q0, q1, alpha, beta, n_max):
    """Every (n, n1, r1, r) by plain loops; returns (optimal, minimax) as (r1, n1, r, n, en0)."""
    best_en, best_mm = None, None
    for n in range(2, n_max + 1):
        for n1, r1 in itertools.product(range(1, n), range(0, n)):
            if r1 >= n1:
                continue
            pet0 = stats.binom.cdf(r1, n1, q0)
            en0 = n1 + (1 - pet0) * (n - n1)
            for r in range(r1, n):
                a = design.simon_reject_probability(r1, n1, r, n, q0)
                pw = design.simon_reject_probability(r1, n1, r, n, q1)
                if a <= alpha and pw >= 1 - beta:
                    cand = (r1, n1, r, n, en0)
                    if best_en is None or en0 < best_en[4] - 1e-12:
                        best_en = cand
                    if best_mm is None or (n, en0) < (best_mm[3], best_mm[4] - 1e-12):
                        best_mm = cand
    return best_en, best_mm


@pytest.mark.parametrize(
    "q0, q1, alpha, beta", [(0.3, 0.7, 0.10, 0.20), (0.6, 0.9, 0.10, 0.20), (0.2, 0.6, 0.05, 0.20)]
)
def test_simon_search_matches_brute_force(q0, q1, alpha, beta):
    n_max = 14
    brute_opt, brute_mm = _brute_force_simon(q0, q1, alpha, beta, n_max)
    found = design.simon_designs(q0, q1, alpha, beta, n_max=n_max)
    assert brute_opt is not None
    for kind, brute in (("optimal", brute_opt), ("minimax", brute_mm)):
        d = found[kind]
        assert d.n == brute[3]
        assert d.en0 == pytest.approx(brute[4], rel=1e-10)


def test_single_stage_against_brute_force():
    q0, q1, alpha, beta = 0.65, 0.85, 0.05, 0.20
    found = design.single_stage_design(q0, q1, alpha, beta, n_max=80)
    brute = None
    for n in range(1, 81):
        for r in range(n + 1):
            if stats.binom.sf(r, n, q0) <= alpha and stats.binom.sf(r, n, q1) >= 1 - beta:
                brute = (n, r)
                break
        if brute:
            break
    assert (found.n, found.r) == brute
    assert found.alpha <= alpha and found.power >= 1 - beta


def test_single_stage_normal_approximation_is_close():
    # A'Hern-type exact n is close to the normal-approximation sample size
    q0, q1, alpha, beta = 0.65, 0.85, 0.05, 0.20
    za, zb = stats.norm.ppf(1 - alpha), stats.norm.ppf(1 - beta)
    approx_n = ((za * np.sqrt(q0 * (1 - q0)) + zb * np.sqrt(q1 * (1 - q1))) / (q1 - q0)) ** 2
    found = design.single_stage_design(q0, q1, alpha, beta, n_max=80)
    assert abs(found.n - approx_n) <= 0.25 * approx_n


def test_failure_designs_translate_bsi_rates():
    table = design.failure_designs(0.70, 0.50, 0.05, 0.20)
    # BSI 0.70 → 0.50 is response (no BSI) 0.30 → 0.50: Simon's table, 6/19 and 16/39 minimax
    minimax = table.set_index("design").loc["Simon minimax"]
    assert (minimax["n1"], minimax["n"]) == (19, 39)
    assert minimax["max_bsi_stage1"] == 19 - 6 - 1 and minimax["max_bsi"] == 39 - 16 - 1
    with pytest.raises(ValueError):
        design.failure_designs(0.2, 0.3, 0.05, 0.2)


def test_predictive_probability_by_quadrature():
    failures, n_interim, n_final, max_failures, a, b = 6, 19, 37, 8, 1.0, 1.0
    posterior = stats.beta(a + failures, b + n_interim - failures)
    value, _ = integrate.quad(
        lambda p: stats.binom.cdf(max_failures - failures, n_final - n_interim, p) * posterior.pdf(p),
        0,
        1,
        epsabs=1e-12,
    )
    assert design.predictive_probability(failures, n_interim, n_final, max_failures, a, b) == pytest.approx(
        value, abs=1e-9
    )


def test_predictive_probability_edges():
    assert design.predictive_probability(6, 19, 37, 5) == 0.0
    assert design.predictive_probability(0, 19, 37, 18) == pytest.approx(1.0)


def test_two_stage_predictive_by_quadrature():
    failures, n_interim, n1, max1, n_final, max_final = 3, 10, 19, 5, 37, 9
    posterior = stats.beta(1 + failures, 1 + n_interim - failures)

    def success_given_rate(p):
        y1 = np.arange(0, max1 - failures + 1)
        return np.sum(
            stats.binom.pmf(y1, n1 - n_interim, p) * stats.binom.cdf(max_final - failures - y1, n_final - n1, p)
        )

    value, _ = integrate.quad(lambda p: success_given_rate(p) * posterior.pdf(p), 0, 1, epsabs=1e-12)
    found = design.predictive_probability_two_stage(failures, n_interim, n1, max1, n_final, max_final)
    assert found == pytest.approx(value, abs=1e-9)
    # with a stage-1 rule that cannot bind it equals the single-stage predictive probability
    loose = design.predictive_probability_two_stage(failures, n_interim, n1, n1, n_final, max_final)
    assert loose == pytest.approx(design.predictive_probability(failures, n_interim, n_final, max_final))


def test_conditional_power_by_summation():
    cp = design.conditional_power(6, 19, 37, 9, 0.2)
    assert cp == pytest.approx(sum(stats.binom.pmf(k, 18, 0.2) for k in range(0, 4)), rel=1e-12)
    assert design.conditional_power(6, 19, 37, 5, 0.2) == 0.0


def test_predictive_curve_is_monotone():
    curve = design.predictive_curve(19, 37, 9)
    assert len(curve) == 20
    assert np.all(np.diff(curve["predictive_probability"]) <= 1e-12)


def test_stage1_status_cases():
    # n1 beyond the interim: 6 failures already exceed a stage-1 limit of 3 (lost), not of 7
    assert design.stage1_status(6, 19, 20, 3) == "failed"
    assert design.stage1_status(6, 19, 20, 7) == "pending"
    assert design.stage1_status(3, 19, 20, 3) == "pending"
    assert design.stage1_status(6, 19, 13, 6) == "passed"
    assert design.stage1_status(6, 19, 15, 1) == "failed"  # at least 2 of the 6 fell in the first 15
    assert design.stage1_status(6, 19, 13, 3) == "unknown"


def test_interim_assessment_and_curves():
    designs = design.failure_designs(0.364, 0.15, 0.05, 0.10)
    assessed = design.interim_assessment(designs, 6, 19)
    single = assessed.set_index("design").loc["single-stage"]
    assert single["predictive_probability"] == pytest.approx(
        design.predictive_probability(6, 19, int(single["n"]), int(single["max_bsi"]))
    )
    assert single["conditional_power_target"] == pytest.approx(
        design.conditional_power(6, 19, int(single["n"]), int(single["max_bsi"]), 0.15)
    )
    curves = design.rule_curves(designs, 19)
    assert curves.groupby("rule").size().eq(20).all()
    one = curves[curves["rule"] == curves["rule"].iloc[0]]
    threshold_count = design.highest_count_with_predictive(one, 0.10)
    assert one.set_index("failures").loc[threshold_count, "predictive_probability"] >= 0.10
    if threshold_count < 19:
        assert one.set_index("failures").loc[threshold_count + 1, "predictive_probability"] < 0.10


def test_near_size():
    space = design.design_space([0.364], [0.15, 0.20])
    near = design.near_size(space, 37, 3)
    assert ((near["n"] - 37).abs() <= 3).all() and len(near) < len(space)


def test_stage1_status_against_every_ordering_of_the_failures():
    """Brute force: every placement of the failures among the interim patients (and, before n1,
    every count the remaining stage-1 patients could add)."""
    from itertools import combinations

    n_interim = 8
    for n1 in range(1, 11):
        for limit in range(0, 6):
            for failures in range(0, n_interim + 1):
                counts = set()
                for placed in combinations(range(n_interim), failures):
                    in_stage1 = sum(1 for position in placed if position < n1)
                    future = range(0, max(0, n1 - n_interim) + 1)
                    counts.update(in_stage1 + k for k in future)
                status = design.stage1_status(failures, n_interim, n1, limit)
                if all(c > limit for c in counts):
                    assert status == "failed", (failures, n1, limit)
                elif n1 > n_interim:
                    assert status == "pending", (failures, n1, limit)
                elif all(c <= limit for c in counts):
                    assert status == "passed", (failures, n1, limit)
                else:
                    assert status == "unknown", (failures, n1, limit)
