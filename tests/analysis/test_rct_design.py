"""The two-arm design with a robust MAP control prior: the probability of a risk difference
against the exact finite sum, double quadrature and Monte Carlo; the success region against a
brute-force loop; operating characteristics and assurance against seeded simulation; and the
known behaviour of borrowing (type I error inflation away from the prior mean, tempered by
robustification)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, special

from nkreport import seed_for
from nkreport.analysis import assurance as fisher_design
from nkreport.analysis import priors, rct_design
from nkreport.analysis.priors import BetaMixture

#: An informative MAP-like prior of the control risk with mean 0.3 (two components, ESS about 29).
INFORMATIVE = BetaMixture((0.6, 0.4), (12.0, 6.0), (28.0, 14.0), ("informative 1", "informative 2"))
ROBUST = priors.robustify(INFORMATIVE, priors.ROBUST_WEIGHT)
UNIFORM = BetaMixture.beta(1.0, 1.0)


def integer_shape_sum(nk_a, nk_b, control_a, control_b) -> float:
    """P(p_nk < p_control) for Beta(nk_a, nk_b) and Beta(control_a, control_b) with an integer
    control_a (Evan Miller's formula; the other shapes may be real):
    sum_{i < control_a} B(nk_a + i, nk_b + control_b) / ((control_b + i) B(1 + i, control_b) B(nk_a, nk_b))."""
    i = np.arange(int(control_a))
    log_terms = (
        special.betaln(nk_a + i, nk_b + control_b)
        - np.log(control_b + i)
        - special.betaln(1 + i, control_b)
        - special.betaln(nk_a, nk_b)
    )
    return math.fsum(np.exp(log_terms))


def mixture_sum(nk: BetaMixture, control: BetaMixture) -> float:
    """The integer-shape sum over every pair of components, weighted (P is bilinear in the mixtures)."""
    return math.fsum(
        wn * wc * integer_shape_sum(an, bn, ac, bc)
        for (wn, an, bn), (wc, ac, bc) in itertools.product(
            zip(nk.weights, nk.a, nk.b, strict=True), zip(control.weights, control.a, control.b, strict=True)
        )
    )


def scalar_pdf(mix: BetaMixture):
    """A fast scalar density (math module) for scipy's adaptive quadrature."""
    terms = [(w, a, b, math.log(w) - special.betaln(a, b)) for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True)]

    def pdf(x: float) -> float:
        if x <= 0.0 or x >= 1.0:
            return 0.0
        lx, l1x = math.log(x), math.log1p(-x)
        return sum(math.exp(scale + (a - 1) * lx + (b - 1) * l1x) for _, a, b, scale in terms)

    return pdf


# --------------------------------------------------------------------------- P(p_nk - p_control < delta)


@pytest.mark.parametrize(
    "nk, control",
    [
        ((1.0, 1.0), (1.0, 1.0)),
        ((4.0, 18.0), (9.0, 15.0)),
        ((0.5, 1.0), (3.0, 0.7)),  # the NK shape need not be an integer, nor the control's b
        ((1.0, 201.0), (1.0, 201.0)),  # zero events of 200 in both arms
        ((21.0, 181.0), (41.0, 161.0)),  # n = 200 per arm, near the decision boundary
        ((201.0, 1.0), (150.0, 52.5)),
        ((101.0, 101.0), (99.0, 103.0)),
        ((13.5, 290.25), (320.0, 85.0)),
    ],
)
def test_difference_probability_matches_the_integer_shape_sum(nk, control):
    value = rct_design.prob_difference_below(BetaMixture.beta(*nk), BetaMixture.beta(*control))
    assert value == pytest.approx(integer_shape_sum(*nk, *control), abs=1e-10)


def test_difference_probability_of_mixtures_matches_the_integer_shape_sum():
    nk = BetaMixture((0.7, 0.3), (2.5, 1.0), (30.0, 1.0))
    control = BetaMixture((0.5, 0.3, 0.2), (12.0, 3.0, 1.0), (28.0, 7.5, 1.0))
    for x_nk, x_control, n in [(0, 0, 0), (3, 9, 30), (20, 21, 60), (5, 60, 200)]:
        post_nk, post_control = nk.posterior(x_nk, n), control.posterior(x_control, n)
        value = rct_design.prob_difference_below(post_nk, post_control)
        assert value == pytest.approx(mixture_sum(post_nk, post_control), abs=1e-10)


@pytest.mark.parametrize("delta", [-0.12, 0.0, 0.05, 0.2])
def test_difference_probability_matches_double_quadrature(delta):
    post_nk = BetaMixture((0.6, 0.4), (0.5, 2.0), (1.0, 9.0)).posterior(3, 25)
    post_control = ROBUST.posterior(9, 25)
    f_nk, f_control = scalar_pdf(post_nk), scalar_pdf(post_control)
    reference, error = integrate.dblquad(
        lambda x, y: f_nk(x) * f_control(y),  # inner x (NK risk) below y + delta, outer y (control risk)
        0.0,
        1.0,
        lambda y: 0.0,
        lambda y: min(1.0, max(0.0, y + delta)),
        epsabs=1e-12,
        epsrel=1e-12,
    )
    assert error < 1e-9
    assert rct_design.prob_difference_below(post_nk, post_control, delta) == pytest.approx(reference, abs=1e-8)


def test_difference_probability_matches_monte_carlo():
    rng = np.random.default_rng(seed_for("rct_design difference Monte Carlo"))
    draws = 2_000_000
    post_nk, post_control = rct_design.NK_PRIOR.posterior(6, 40), ROBUST.posterior(14, 30)
    difference = post_nk.sample(draws, rng) - post_control.sample(draws, rng)
    for delta in (-0.05, 0.0, 0.1):
        exact = rct_design.prob_difference_below(post_nk, post_control, delta)
        simulated = float(np.mean(difference < delta))
        assert abs(exact - simulated) < 4 * math.sqrt(exact * (1 - exact) / draws)


def test_difference_probability_swapping_the_arms_and_its_limits():
    first, second = BetaMixture((0.5, 0.5), (0.3, 20.0), (0.7, 50.0)), ROBUST.posterior(30, 100)
    for delta in (-0.4, -0.01, 0.0, 0.07, 0.6):
        total = rct_design.prob_difference_below(first, second, delta) + rct_design.prob_difference_below(
            second, first, -delta
        )
        assert total == pytest.approx(1.0, abs=1e-11)
    assert rct_design.prob_difference_below(first, second, 1.0) == 1.0
    assert rct_design.prob_difference_below(first, second, -1.0) == 0.0
    values = [rct_design.prob_difference_below(first, second, d) for d in np.linspace(-0.9, 0.9, 19)]
    assert values == sorted(values)


# --------------------------------------------------------------------------- the success region


def brute_force_probability(post_nk: BetaMixture, post_control: BetaMixture) -> float:
    """P(p_nk < p_control) by scipy's adaptive quadrature of f_control(y) F_nk(y) on the risk scale."""
    f_control = scalar_pdf(post_control)
    value, _ = integrate.quad(
        lambda y: f_control(y) * float(post_nk.cdf(y)), 0, 1, epsabs=1e-13, epsrel=1e-12, limit=200
    )
    return value


def test_success_region_matches_a_brute_force_loop():
    n_nk, n_control = 16, 11
    probabilities = rct_design.difference_probabilities(n_nk, n_control, rct_design.NK_PRIOR, ROBUST)
    region = rct_design.success_region(n_nk, n_control, rct_design.NK_PRIOR, ROBUST)
    assert region.shape == probabilities.shape == (n_control + 1, n_nk + 1)
    for x_control, x_nk in itertools.product(range(n_control + 1), range(n_nk + 1)):
        post_nk = rct_design.NK_PRIOR.posterior(x_nk, n_nk)
        post_control = ROBUST.posterior(x_control, n_control)
        brute = brute_force_probability(post_nk, post_control)
        assert probabilities[x_control, x_nk] == pytest.approx(brute, abs=1e-9)
        assert abs(brute - rct_design.SUCCESS_PROBABILITY) > 1e-7  # no table on the boundary
        assert region[x_control, x_nk] == (brute > rct_design.SUCCESS_PROBABILITY)
        assert region[x_control, x_nk] == rct_design.is_success(post_nk, post_control)
    assert region.any() and not region.all()


@pytest.mark.parametrize("delta", [0.0, -0.05])
def test_probability_matrix_matches_single_evaluations_at_200_per_arm(delta):
    n_nk, n_control = 200, 170
    probabilities = rct_design.difference_probabilities(n_nk, n_control, rct_design.NK_PRIOR, ROBUST, delta)
    rng = np.random.default_rng(seed_for(f"rct_design matrix {delta}"))
    tables = [(0, 0), (n_control, n_nk), (0, n_nk), (n_control, 0)] + [
        (int(rng.integers(0, n_control + 1)), int(rng.integers(0, n_nk + 1))) for _ in range(40)
    ]
    for x_control, x_nk in tables:
        single = rct_design.prob_difference_below(
            rct_design.NK_PRIOR.posterior(x_nk, n_nk), ROBUST.posterior(x_control, n_control), delta
        )
        assert probabilities[x_control, x_nk] == pytest.approx(single, abs=1e-10)


def test_success_region_is_monotone_with_its_critical_values():
    n_nk, n_control = 80, 45
    region = rct_design.success_region(n_nk, n_control, rct_design.NK_PRIOR, ROBUST)
    critical = rct_design.critical_values(n_nk, n_control, rct_design.NK_PRIOR, ROBUST)
    assert critical.shape == (n_control + 1,)
    assert np.all(np.diff(critical) >= 0)  # more control events: more NK events still a success
    expected = np.arange(n_nk + 1)[None, :] <= critical[:, None]
    np.testing.assert_array_equal(region, expected)  # every row is a run from x_nk = 0
    assert critical[0] == -1 and critical[-1] >= 0
    with pytest.raises(ValueError):
        region[0, 0] = True  # read-only, as the cached probabilities it is read from


# --------------------------------------------------------------------------- operating characteristics


def test_operating_characteristics_match_simulated_trials():
    n_nk, n_control = 40, 25
    oc = rct_design.operating_characteristics(
        n_nk, n_control, rct_design.NK_PRIOR, ROBUST, control_risks=(0.15, 0.3, 0.45), odds_ratios=(1.0, 0.4)
    )
    rng = np.random.default_rng(seed_for("rct_design operating characteristics"))
    trials = 4000
    decisions: dict[tuple[int, int], bool] = {}
    for row in oc.itertuples():
        x_control = rng.binomial(n_control, row.control_risk, size=trials)
        x_nk = rng.binomial(n_nk, row.nk_risk, size=trials)
        wins = []
        for table in zip(x_control.tolist(), x_nk.tolist(), strict=True):
            if table not in decisions:
                decisions[table] = rct_design.is_success(
                    rct_design.NK_PRIOR.posterior(table[1], n_nk), ROBUST.posterior(table[0], n_control)
                )
            wins.append(decisions[table])
        p = row.probability_of_success
        assert abs(np.mean(wins) - p) < 4 * math.sqrt(p * (1 - p) / trials) + 1e-12


def test_operating_characteristics_frame():
    oc = rct_design.operating_characteristics(50, 50, rct_design.NK_PRIOR, ROBUST)
    grid = rct_design.CONTROL_RISK_GRID
    assert len(oc) == len(grid) * len(rct_design.ODDS_RATIO_GRID)
    null = oc[oc["null"]]
    np.testing.assert_allclose(null["nk_risk"], null["control_risk"], rtol=1e-12)
    np.testing.assert_allclose(null["fisher_probability_of_success"], fisher_design.power(50, grid, grid), rtol=1e-12)
    assert (null["fisher_probability_of_success"] <= fisher_design.ALPHA).all()
    for _, by_risk in oc.groupby("control_risk"):  # a larger effect: a likelier success
        ordered = by_risk.sort_values("odds_ratio")
        assert list(ordered["probability_of_success"]) == sorted(ordered["probability_of_success"], reverse=True)
    unequal = rct_design.operating_characteristics(50, 30, rct_design.NK_PRIOR, ROBUST, (0.3,), (1.0,))
    assert unequal["fisher_probability_of_success"].isna().all()


def test_uniform_priors_keep_the_type_one_error_near_nominal_and_symmetric():
    n = 50
    probabilities = rct_design.difference_probabilities(n, n, UNIFORM, UNIFORM)
    np.testing.assert_allclose(probabilities + probabilities.T, 1.0, atol=1e-11)  # swapping the arms
    x = np.arange(n + 1)
    # events and non-events exchanged: P(p_nk < p_c | x_nk, x_c) = P(q_c < q_nk) with q = 1 - p
    np.testing.assert_allclose(probabilities, probabilities[np.ix_(n - x, n - x)].T, atol=1e-11)
    risks = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    type_one = rct_design.probability_of_success(n, n, UNIFORM, UNIFORM, risks, risks)
    np.testing.assert_allclose(type_one, type_one[::-1], atol=1e-12)  # symmetric about 1/2
    assert type_one[2] <= (1 - rct_design.SUCCESS_PROBABILITY) + 0.005
    assert type_one.max() <= 0.03
    # the Bayesian test of two uniform priors is less conservative than Fisher's exact test
    assert np.all(type_one >= fisher_design.power(n, risks, risks))


def test_borrowing_inflates_the_type_one_error_away_from_the_prior_mean_and_robustness_tempers_it():
    n_nk, n_control = 60, 30
    risks = np.array([0.1, 0.3, 0.5])
    assert INFORMATIVE.mean() == pytest.approx(0.3)
    informative = rct_design.probability_of_success(n_nk, n_control, rct_design.NK_PRIOR, INFORMATIVE, risks, risks)
    robust = rct_design.probability_of_success(n_nk, n_control, rct_design.NK_PRIOR, ROBUST, risks, risks)
    vague = rct_design.probability_of_success(n_nk, n_control, rct_design.NK_PRIOR, UNIFORM, risks, risks)
    nominal = 1 - rct_design.SUCCESS_PROBABILITY
    # a true control risk below the prior's 0.3: the prior pulls the control risk up, NK looks better
    assert informative[0] > 4 * nominal and informative[0] > informative[1]
    # above it: the prior pulls the control risk down, NK looks worse
    assert informative[2] < informative[1] / 10
    # robustification moves both towards the no-borrowing design
    assert vague[0] < robust[0] < informative[0]
    assert informative[2] < robust[2]
    assert np.all(np.abs(vague - nominal) < 0.01)
    # at the prior mean the borrowing buys power (same trial, informative or vague control prior)
    effect = rct_design.probability_of_success(
        n_nk, n_control, rct_design.NK_PRIOR, ROBUST, 0.3, fisher_design.treated_risk(0.3, np.log(0.4))
    )
    no_borrowing = rct_design.probability_of_success(
        n_nk, n_control, rct_design.NK_PRIOR, UNIFORM, 0.3, fisher_design.treated_risk(0.3, np.log(0.4))
    )
    assert effect[0] > no_borrowing[0] + 0.05


def test_effective_borrowing():
    informative_ess = rct_design.prior_ess(INFORMATIVE)
    robust_ess = rct_design.prior_ess(ROBUST)
    assert informative_ess == pytest.approx(priors.ess(INFORMATIVE, rct_design.ESS_METHOD))
    assert robust_ess == pytest.approx(priors.ess(ROBUST, rct_design.ESS_METHOD))
    assert 0 < robust_ess < informative_ess  # the robust component gives some of the borrowing away
    assert rct_design.balanced_control_size(80, ROBUST) == 80 - round(robust_ess)
    assert rct_design.balanced_control_size(80, INFORMATIVE, method="moment") == 80 - round(
        priors.ess_moment(INFORMATIVE)
    )
    with pytest.raises(ValueError):
        rct_design.balanced_control_size(10, INFORMATIVE)


# --------------------------------------------------------------------------- assurance


def test_assurance_is_the_mean_of_the_operating_characteristics_over_the_draws():
    rng = np.random.default_rng(seed_for("rct_design assurance draws"))
    control = rng.beta(30, 70, size=300)
    log_or = rng.normal(-0.7, 0.5, size=300)
    n_nk, n_control = 60, 40
    result = rct_design.assurance(n_nk, n_control, rct_design.NK_PRIOR, ROBUST, control, log_or)
    one_by_one = np.array(
        [
            rct_design.operating_characteristics(
                n_nk, n_control, rct_design.NK_PRIOR, ROBUST, (c,), (float(np.exp(lo)),)
            )["probability_of_success"].iloc[0]
            for c, lo in zip(control, log_or, strict=True)
        ]
    )
    assert result["n_nk"] == n_nk and result["n_control"] == n_control
    assert result["assurance"] == pytest.approx(one_by_one.mean(), abs=1e-12)
    assert result["mcse"] == pytest.approx(one_by_one.std(ddof=1) / math.sqrt(one_by_one.size), rel=1e-9)
    same = rct_design.assurance(n_nk, n_control, rct_design.NK_PRIOR, ROBUST, np.full(5, 0.3), np.full(5, -0.5))
    assert same["mcse"] == pytest.approx(0.0, abs=1e-15)


def test_assurance_matches_simulated_trials():
    rng = np.random.default_rng(seed_for("rct_design assurance simulation"))
    draws = 3000
    control = rng.beta(30, 70, size=draws)
    log_or = rng.normal(-0.7, 0.5, size=draws)
    n_nk, n_control = 50, 30
    exact = rct_design.assurance(n_nk, n_control, rct_design.NK_PRIOR, ROBUST, control, log_or)["assurance"]
    x_control = rng.binomial(n_control, control)
    x_nk = rng.binomial(n_nk, fisher_design.treated_risk(control, log_or))
    decisions = {}
    for table in set(zip(x_control.tolist(), x_nk.tolist(), strict=True)):
        decisions[table] = rct_design.is_success(
            rct_design.NK_PRIOR.posterior(table[1], n_nk), ROBUST.posterior(table[0], n_control)
        )
    simulated = np.mean([decisions[t] for t in zip(x_control.tolist(), x_nk.tolist(), strict=True)])
    assert abs(simulated - exact) < 4 * math.sqrt(exact * (1 - exact) / draws)


def test_compare_with_fisher_and_its_summary():
    """The borrowing rows are the design's own operating characteristics, the Fisher rows the
    exact power of equal arms; the summary reads the type I error range and the reference power."""
    from nkreport.analysis import assurance as fisher_design

    prior = priors.robustify(BetaMixture.beta(6.0, 14.0, "informative"), priors.ROBUST_WEIGHT)
    frame = rct_design.compare_with_fisher(30, 24, rct_design.NK_PRIOR, prior, control_risks=(0.15, 0.3))
    own = rct_design.operating_characteristics(30, 24, rct_design.NK_PRIOR, prior, (0.15, 0.3), (1.0, 0.5))
    borrowing, fisher = (part for _, part in frame.groupby("design", sort=False))
    assert np.allclose(borrowing["probability_of_success"], own["probability_of_success"])
    expected = fisher_design.power(30, fisher["control_risk"].to_numpy(), fisher["nk_risk"].to_numpy())
    assert np.allclose(fisher["probability_of_success"], expected)
    summary = rct_design.design_summary(frame).set_index("design")
    null = borrowing[borrowing["null"]]["probability_of_success"]
    assert summary.iloc[0]["type1_max"] == pytest.approx(null.max())
    at = borrowing[(borrowing["odds_ratio"] == 0.5) & np.isclose(borrowing["control_risk"], 0.15)]
    assert summary.iloc[0]["power"] == pytest.approx(float(at["probability_of_success"].iloc[0]))
    with pytest.raises(ValueError, match="add them to the grid"):
        rct_design.design_summary(frame, control_risk=0.2)
