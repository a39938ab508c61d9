"""Beta mixtures, ESS, robustification, conflict, power priors and case mix, each against an
independent reference (closed form, numerical integration, enumeration or simulation)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from nkreport.analysis import casemix, priors
from nkreport.analysis.priors import BetaMixture

MIX = BetaMixture((0.6, 0.3, 0.1), (3.0, 1.5, 1.0), (27.0, 7.0, 1.2))


# --------------------------------------------------------------------------- mixture basics


def test_single_component_matches_scipy():
    beta = BetaMixture.beta(2.5, 7.5)
    x = np.linspace(0.01, 0.99, 17)
    np.testing.assert_allclose(beta.pdf(x), stats.beta.pdf(x, 2.5, 7.5), rtol=1e-12)
    np.testing.assert_allclose(beta.cdf(x), stats.beta.cdf(x, 2.5, 7.5), rtol=1e-12)
    assert beta.mean() == pytest.approx(0.25)
    assert beta.var() == pytest.approx(stats.beta.var(2.5, 7.5))
    assert beta.quantile(0.9) == pytest.approx(stats.beta.ppf(0.9, 2.5, 7.5), rel=1e-9)


def test_mixture_moments_and_cdf_by_quadrature():
    total = integrate.quad(MIX.pdf, 0, 1, points=[0.1], limit=200)[0]
    mean = integrate.quad(lambda x: x * MIX.pdf(x), 0, 1, points=[0.1], limit=200)[0]
    second = integrate.quad(lambda x: x * x * MIX.pdf(x), 0, 1, points=[0.1], limit=200)[0]
    assert total == pytest.approx(1, abs=1e-8)
    assert MIX.mean() == pytest.approx(mean, rel=1e-8)
    assert MIX.var() == pytest.approx(second - mean**2, rel=1e-7)
    for x in (0.05, 0.2, 0.6):
        assert MIX.cdf(x) == pytest.approx(integrate.quad(MIX.pdf, 0, x, limit=200)[0], abs=1e-8)


def test_sampling_is_seeded_and_matches_moments():
    a = MIX.sample(20000, np.random.default_rng(1))
    b = MIX.sample(20000, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert a.mean() == pytest.approx(MIX.mean(), abs=4 * MIX.sd() / np.sqrt(a.size))


def test_invalid_mixtures_are_rejected():
    with pytest.raises(ValueError):
        BetaMixture((0.5, 0.4), (1, 1), (1, 1))
    with pytest.raises(ValueError):
        BetaMixture((1.0,), (0.0,), (1.0,))


def test_posterior_update_against_numerical_integration():
    events, n = 6, 19
    post = MIX.posterior(events, n)
    unnormalised = lambda x: MIX.pdf(x) * stats.binom.pmf(events, n, x)  # noqa: E731
    evidence = integrate.quad(unnormalised, 0, 1, limit=200)[0]
    # each component's posterior weight: its share of the evidence
    for k in range(3):

        def component(x, k=k):
            return MIX.weights[k] * stats.beta.pdf(x, MIX.a[k], MIX.b[k]) * stats.binom.pmf(events, n, x)  # noqa: E731

        assert post.weights[k] == pytest.approx(integrate.quad(component, 0, 1, limit=200)[0] / evidence, rel=1e-7)
    for x in (0.1, 0.3, 0.5):
        assert post.pdf(x) == pytest.approx(unnormalised(x) / evidence, rel=1e-7)
    assert MIX.predictive_pmf(events, n) == pytest.approx(evidence, rel=1e-8)


def test_conjugate_single_beta():
    post = BetaMixture.beta(2, 3).posterior(4, 10)
    assert (post.a[0], post.b[0], post.weights[0]) == (6.0, 9.0, 1.0)


# --------------------------------------------------------------------------- EM fit


def test_em_recovers_a_known_mixture():
    truth = BetaMixture((0.7, 0.3), (4.0, 2.0), (36.0, 3.0))
    draws = truth.sample(40000, np.random.default_rng(7))
    fit, _ = priors.fit_beta_mixture_em(draws, 2)
    order = np.argsort(fit.a_ / (fit.a_ + fit.b_))
    np.testing.assert_allclose(fit.w_[order], [0.7, 0.3], atol=0.03)
    np.testing.assert_allclose(fit.a_[order] / (fit.a_ + fit.b_)[order], [0.1, 0.4], atol=0.02)
    assert priors.max_cdf_difference(fit, truth.cdf) < 0.01


def test_em_single_component_equals_scipy_mle():
    draws = stats.beta.rvs(2.0, 9.0, size=5000, random_state=3)
    fit, _ = priors.fit_beta_mixture_em(draws, 1)
    a, b, _, _ = stats.beta.fit(draws, floc=0, fscale=1)
    assert fit.a[0] == pytest.approx(a, rel=1e-4)
    assert fit.b[0] == pytest.approx(b, rel=1e-4)


def test_component_choice_by_bic():
    draws = BetaMixture((0.5, 0.5), (3.0, 20.0), (30.0, 10.0)).sample(8000, np.random.default_rng(2))
    fit = priors.fit_beta_mixture(draws, max_components=3)
    assert fit.mixture.n_components >= 2
    assert fit.candidates.loc[fit.candidates["chosen"], "bic"].item() == fit.candidates["bic"].min()
    assert (
        fit.candidates["max_cdf_difference"].iloc[0]
        > fit.candidates.loc[fit.candidates["chosen"], "max_cdf_difference"].item()
    )
    assert min(fit.mixture.a + fit.mixture.b) >= priors.MIN_SHAPE


# --------------------------------------------------------------------------- ESS


@settings(max_examples=25, deadline=None)
@given(st.floats(1.05, 60), st.floats(1.05, 60))
def test_ess_of_a_beta_is_a_plus_b(a, b):
    beta = BetaMixture.beta(a, b)
    assert priors.ess_elir(beta) == pytest.approx(a + b, rel=1e-6)
    assert priors.ess_moment(beta) == pytest.approx(a + b, rel=1e-9)
    # Morita et al. (2008): a + b up to the epsilon-information prior's own ESS, (a + b) / c
    assert priors.ess_morita(beta) == pytest.approx((a + b) * (1 - 1 / priors.MORITA_C), rel=1e-9)
    assert abs(priors.ess_morita(beta) - (a + b)) <= (a + b) / priors.MORITA_C + 1e-9


def test_elir_near_and_at_the_boundary():
    # a shape just above 1 puts the a-side information far out in the tail (closed-form tail)
    assert priors.ess_elir(BetaMixture.beta(1.0001, 60.0)) == pytest.approx(61.0001, rel=1e-6)
    # at a = 1 the a-side term vanishes: taken literally ELIR = (b - 1) E[θ/(1-θ)] = a = 1 (a jump,
    # not a + b); the default is the limit from inside, a + b, continuous in the shapes
    assert priors.ess_elir(BetaMixture.beta(1.0, 60.0), boundary="literal") == pytest.approx(1.0, rel=1e-6)
    assert priors.ess_elir(BetaMixture.beta(1.0, 60.0)) == pytest.approx(61.0, rel=1e-6)
    assert priors.ess_elir(BetaMixture.beta(1.0, 1.0)) == pytest.approx(2.0, rel=1e-9)
    assert priors.ess_elir(BetaMixture.beta(1.0, 1.0), boundary="literal") == pytest.approx(0.0, abs=1e-9)
    assert priors.ess_elir(BetaMixture.beta(7.0, 1.0)) == pytest.approx(8.0, rel=1e-6)


@pytest.mark.parametrize("shapes", [((1.0, 3.0), (4.0, 1.0)), ((1.0, 2.0), (9.0, 5.0)), ((1.0, 1.0), (30.0, 1.0))])
def test_elir_limit_is_continuous_at_the_boundary_of_a_mixture(shapes):
    # the limit rule (adding w b for a = 1 and w a for b = 1) against the integral just inside the
    # parameter space, where the closed-form tails carry the jump
    (a1, a2), (b1, b2) = shapes
    weights = (0.6, 0.4)
    at_boundary = BetaMixture(weights, (a1, a2), (b1, b2))
    inside = BetaMixture(weights, tuple(x + 1e-9 if x == 1 else x for x in (a1, a2)),
                         tuple(x + 1e-9 if x == 1 else x for x in (b1, b2)))
    assert priors.ess_elir(at_boundary) == pytest.approx(priors.ess_elir(inside, boundary="literal"), abs=1e-6)
    literal, limit = priors.elir_boundary_range(at_boundary)
    assert limit - literal == pytest.approx(
        sum(w * b for w, a, b in zip(weights, (a1, a2), (b1, b2), strict=True) if a == 1)
        + sum(w * a for w, a, b in zip(weights, (a1, a2), (b1, b2), strict=True) if b == 1)
    )


def test_elir_boundary_rule_is_checked():
    with pytest.raises(ValueError, match="boundary"):
        priors.ess_elir(MIX, boundary="mode")


def test_morita_at_mean_and_mode_differ_for_a_skewed_mixture():
    # for one Beta both points give (a + b)(1 - 1/c) only when the curvature matches; for a mixture
    # the mean can sit where the log density is convex and Morita's ESS turns negative
    robust = priors.robustify(MIX, 0.5)
    table = priors.ess_table({"robust": robust})
    assert set(priors.ESS_METHODS) <= set(table.columns)
    assert table.loc[0, "morita"] == pytest.approx(priors.ess_morita(robust, at="mean"))
    assert table.loc[0, "morita_mode"] == pytest.approx(priors.ess_morita(robust, at="mode"))
    assert table.loc[0, "morita"] != pytest.approx(table.loc[0, "morita_mode"], rel=1e-3)
    # the curvature at the mode, by finite differences, is what the mode variant reads
    mode, h = robust.mode(), 1e-5
    curvature = -(robust.logpdf(mode + h) - 2 * robust.logpdf(mode) + robust.logpdf(mode - h)) / h**2
    assert float(priors.observed_information(robust, mode)) == pytest.approx(float(curvature), rel=1e-4)


def test_elir_undefined_below_shape_one():
    assert np.isnan(priors.ess_elir(priors.unit_information_beta(0.2)))
    assert np.isnan(priors.ess_elir(priors.robustify(MIX, 0.2, priors.unit_information_beta(0.2))))


def test_elir_information_against_finite_differences():
    x = np.array([0.03, 0.1, 0.4, 0.8])
    h = 1e-5
    numeric = -(MIX.logpdf(x + h) - 2 * MIX.logpdf(x) + MIX.logpdf(x - h)) / h**2
    np.testing.assert_allclose(priors.observed_information(MIX, x), numeric, rtol=1e-4)


def test_elir_is_predictively_consistent():
    # Neuenschwander et al. (2020): E[ESS(posterior after m)] = ESS(prior) + m, exactly, for ELIR
    m = 10
    outcomes = np.arange(m + 1)
    pmf = MIX.predictive_pmf(outcomes, m)
    expected = sum(p * priors.ess_elir(MIX.posterior(int(y), m)) for y, p in zip(outcomes, pmf, strict=False))
    assert expected - m == pytest.approx(priors.ess_elir(MIX), rel=1e-5)


def test_moment_ess_against_sampling():
    draws = MIX.sample(400000, np.random.default_rng(5))
    mean, var = draws.mean(), draws.var()
    assert priors.ess_moment(MIX) == pytest.approx(mean * (1 - mean) / var - 1, rel=0.02)


def test_unknown_ess_method():
    with pytest.raises(ValueError):
        priors.ess(MIX, "nonsense")


# --------------------------------------------------------------------------- robustness, conflict


def test_robustify_weights_and_mean():
    robust = priors.robustify(MIX, 0.2)
    assert sum(robust.weights) == pytest.approx(1)
    assert robust.mean() == pytest.approx(0.8 * MIX.mean() + 0.2 * 0.5)
    assert priors.informative_weight(robust) == pytest.approx(0.8)
    assert priors.robustify(MIX, 0.0) is MIX
    unit = priors.unit_information_beta(0.3)
    assert priors.ess_moment(unit) == pytest.approx(1.0)


def test_posterior_informative_weight_closed_form():
    informative = BetaMixture.beta(3.0, 30.0, "informative")
    events, n, w = 6, 19, 0.2
    m_inf = stats.betabinom.pmf(events, n, 3, 30)
    m_rob = stats.betabinom.pmf(events, n, 1, 1)
    expected = (1 - w) * m_inf / ((1 - w) * m_inf + w * m_rob)
    table = priors.posterior_informative_weight(informative, events, n, [0.05, w, 0.5])
    assert table.loc[1, "posterior_informative_weight"] == pytest.approx(expected, rel=1e-10)
    assert table["posterior_informative_weight"].is_monotonic_decreasing
    # more conflict, less weight
    far = priors.posterior_informative_weight(informative, 12, 19, [w])
    assert far.loc[0, "posterior_informative_weight"] < expected


def test_box_p_value_by_enumeration_and_simulation():
    prior = BetaMixture.beta(3.0, 30.0)
    check = priors.box_p_value(prior, 6, 19)
    pmf = stats.betabinom.pmf(np.arange(20), 19, 3, 30)
    assert check.box_p == pytest.approx(pmf[pmf <= pmf[6]].sum(), rel=1e-12)
    assert check.upper_tail_p == pytest.approx(stats.betabinom.sf(5, 19, 3, 30), rel=1e-10)
    rng = np.random.default_rng(11)
    simulated = rng.binomial(19, rng.beta(3, 30, size=200000))
    assert check.upper_tail_p == pytest.approx((simulated >= 6).mean(), abs=0.004)
    # a uniform prior predicts every count equally: nothing is surprising
    assert priors.box_p_value(BetaMixture.beta(1, 1), 6, 19).box_p == pytest.approx(1.0)


# --------------------------------------------------------------------------- power priors

HIST_EVENTS, HIST_N = np.array([1, 3]), np.array([21, 26])


def test_power_prior_limits():
    none = priors.power_prior(HIST_EVENTS, HIST_N, 0.0)
    assert (none.a[0], none.b[0]) == priors.POWER_INITIAL
    full = priors.power_prior(HIST_EVENTS, HIST_N, 1.0)
    pooled = BetaMixture.beta(*priors.POWER_INITIAL).posterior(4, 47)
    assert (full.a[0], full.b[0]) == (pooled.a[0], pooled.b[0])
    with pytest.raises(ValueError):
        priors.power_prior(HIST_EVENTS, HIST_N, 1.5)


def test_power_prior_against_numerical_normalisation():
    a0 = 0.4
    prior = priors.power_prior(HIST_EVENTS, HIST_N, a0)
    unnormalised = lambda x: np.prod(stats.binom.pmf(HIST_EVENTS, HIST_N, x) ** a0)  # noqa: E731
    evidence = integrate.quad(unnormalised, 0, 1)[0]
    for x in (0.05, 0.2):
        assert prior.pdf(x) == pytest.approx(unnormalised(x) / evidence, rel=1e-7)


def test_power_prior_sweep_moves_towards_history():
    sweep = priors.power_prior_sweep(HIST_EVENTS, HIST_N, 6, 19, np.linspace(0, 1, 11))
    assert sweep["posterior_mean"].is_monotonic_decreasing
    assert sweep.loc[0, "posterior_mean"] == pytest.approx(7 / 21)


def test_normalized_power_prior_against_double_integral():
    npp = priors.normalized_power_prior(HIST_EVENTS, HIST_N, 6, 19)
    assert integrate.quad(npp.a0_pdf, 0, 1)[0] == pytest.approx(1, abs=1e-8)

    def joint(theta, a0):  # unnormalised p(theta, a0 | data) with the normalising C(a0)
        c_a0 = np.exp(special.betaln(1 + 4 * a0, 1 + 43 * a0))
        return theta ** (4 * a0 + 6) * (1 - theta) ** (43 * a0 + 13) / c_a0

    total = integrate.dblquad(joint, 0, 1, 0, 1, epsabs=1e-13)[0]
    a0_mean = integrate.dblquad(lambda t, a: a * joint(t, a), 0, 1, 0, 1, epsabs=1e-13)[0] / total
    risk_mean = integrate.dblquad(lambda t, a: t * joint(t, a), 0, 1, 0, 1, epsabs=1e-13)[0] / total
    assert npp.a0_mean() == pytest.approx(a0_mean, rel=1e-5)
    assert npp.risk_mean() == pytest.approx(risk_mean, rel=1e-5)
    low, high = npp.risk_quantile(0.025), npp.risk_quantile(0.975)
    assert 0 < low < npp.risk_mean() < high < 1


# --------------------------------------------------------------------------- case mix


def test_casemix_identities():
    # same share as the trial: the historical rate itself
    assert casemix.expected_risk(0.2, 6 / 19, 6 / 19, 2.87) == pytest.approx(0.2, rel=1e-10)
    # no effect of ABO: the historical rate whatever the shares
    assert casemix.expected_risk(0.2, 0.0, 6 / 19, 1.0) == pytest.approx(0.2, rel=1e-10)
    # strata reproduce the historical rate and the odds ratio
    low, high = casemix.stratum_risks(0.2, 0.1, 2.87)
    assert 0.9 * low + 0.1 * high == pytest.approx(0.2, rel=1e-10)
    assert (high / (1 - high)) / (low / (1 - low)) == pytest.approx(2.87, rel=1e-9)


def test_casemix_decreases_with_historical_share():
    values = [casemix.expected_risk(0.2, s, 6 / 19, 2.87) for s in np.linspace(0, 0.3, 7)]
    assert np.all(np.diff(values) < 0)
    assert values[0] > 0.2


def test_casemix_reads_the_data():
    from nkreport import data

    assert casemix.trial_abo_share(data.load_baseline()) == (6, 19)
    assert casemix.abo_odds_ratio(data.load_risk_factors()) == pytest.approx(2.87)


def test_update_table_against_closed_forms():
    table = priors.update_table(
        {"uniform": BetaMixture.beta(1, 1, "uniform"), "robust": priors.robustify(MIX, 0.2)}, 6, 19, threshold=0.3
    )
    uniform = table.iloc[0]
    assert uniform["posterior_mean"] == pytest.approx(7 / 21)
    assert uniform["p_below_threshold"] == pytest.approx(stats.beta.cdf(0.3, 7, 14))
    # the flat Beta(1, 1): ELIR's limit from inside the parameter space, a + b = 2
    assert uniform["prior_ess"] == pytest.approx(2.0, abs=1e-9)
    assert table.iloc[1]["prior_informative_weight"] == pytest.approx(0.8)
    conflict = priors.update_table({"robust": priors.robustify(MIX, 0.2)}, 12, 19)
    assert conflict.iloc[0]["posterior_informative_weight"] < 0.8


def test_operating_characteristics_against_simulation_and_closed_form():
    uniform = BetaMixture.beta(1, 1, "uniform")
    table = priors.operating_characteristics(
        {"uniform": uniform, "robust": priors.robustify(MIX, 0.2)}, 37, 0.34, [0.1, 0.34]
    )
    # closed form for the uniform prior: success iff the Beta(1 + y, 38 - y) cdf at 0.34 >= 0.95
    success = [stats.beta.cdf(0.34, 1 + y, 38 - y) >= 0.95 for y in range(38)]
    expected = stats.binom.pmf(np.arange(38), 37, 0.34)[success].sum()
    assert table.loc[0, 0.34] == pytest.approx(expected)
    rng = np.random.default_rng(12)
    simulated = rng.binomial(37, 0.34, size=200000)
    rule = priors.success_counts(priors.robustify(MIX, 0.2), 37, 0.34)
    assert table.loc[1, 0.34] == pytest.approx(rule[simulated].mean(), abs=0.004)
    # borrowing from an optimistic prior raises both power and type I error
    assert table.loc[1, 0.34] >= table.loc[0, 0.34]
    assert table.loc[1, 0.1] >= table.loc[0, 0.1]


def test_informative_weight_follows_the_robust_flag_not_the_label():
    informative = BetaMixture.beta(3.0, 20.0, "robust-looking label")
    odd_robust = BetaMixture.beta(2.0, 2.0, "any label")
    mix = priors.robustify(informative, 0.3, odd_robust)
    assert mix.robust == (False, True) and mix.labels == ("robust-looking label", "any label")
    assert priors.informative_weight(mix) == pytest.approx(0.7)
    posterior = mix.posterior(6, 19)
    assert posterior.robust == mix.robust
    # the closed form: the posterior weight of the informative part is its share of the evidence
    evidence = [
        w * priors.BetaMixture.beta(a, b).predictive_pmf(np.array([6]), 19)[0]
        for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True)
    ]
    assert priors.informative_weight(posterior) == pytest.approx(evidence[0] / sum(evidence))


def test_casemix_odds_ratio_range_is_symmetric_on_the_log_scale():
    low, high = casemix.odds_ratio_range(2.87)
    assert np.log(2.87) - np.log(low) == pytest.approx(np.log(high) - np.log(2.87))
    assert high / low == pytest.approx(casemix.ODDS_RATIO_RANGE_FACTOR**2)
    # a larger odds ratio means a larger adjustment: the range's ends bracket the point value
    risks = [casemix.expected_risk(0.2, 0.0, 6 / 19, value) for value in (low, 2.87, high)]
    assert risks[0] < risks[1] < risks[2]
    with pytest.raises(ValueError):
        casemix.odds_ratio_range(0.0)

