"""The MCMC gate and the deterministic quadrature cross-check of the MAP model."""

import arviz as az
import numpy as np
import pytest
from scipy import integrate, special, stats

from nkreport.analysis import map_model, mcmc

EVENTS, N = np.array([1, 3]), np.array([21, 26])


def _idata(draws, diverging=None):
    if diverging is None:
        diverging = np.zeros(draws.shape, dtype=bool)
    return az.from_dict(posterior={"x": draws}, sample_stats={"diverging": diverging})


def test_gate_passes_good_chains():
    draws = np.random.default_rng(0).normal(size=(2, 3000))
    report = mcmc.assert_converged(_idata(draws, np.zeros((2, 3000), dtype=bool)), "good")
    assert report.max_rhat <= mcmc.RHAT_MAX and report.divergences == 0


def test_gate_fails_on_disagreeing_chains_low_ess_and_divergences():
    rng = np.random.default_rng(1)
    split = rng.normal(size=(2, 3000)) + np.array([[0.0], [1.0]])
    with pytest.raises(mcmc.ConvergenceError, match="R-hat"):
        mcmc.assert_converged(_idata(split), "split")
    sticky = np.cumsum(rng.normal(size=(2, 3000)), axis=1) * 0.01  # random walk: tiny ESS
    with pytest.raises(mcmc.ConvergenceError, match="ESS"):
        mcmc.assert_converged(_idata(sticky), "sticky")
    diverging = np.zeros((2, 3000), dtype=bool)
    diverging[0, 10] = True
    with pytest.raises(mcmc.ConvergenceError, match="divergent"):
        mcmc.assert_converged(_idata(rng.normal(size=(2, 3000)), diverging), "divergent")


def _prior_importance_sampling(events, n, tau_scale, size=2_000_000, seed=3):
    """Independent reference: draws from the prior, weighted by the likelihood."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 2.0, size)
    tau = np.abs(rng.normal(0, tau_scale, size))
    weight = np.ones(size)
    for y, k in zip(events, n, strict=False):
        weight *= stats.binom.pmf(y, k, special.expit(mu + tau * rng.standard_normal(size)))
    theta_new = special.expit(mu + tau * rng.standard_normal(size))
    weight /= weight.sum()
    return theta_new, weight


@pytest.mark.parametrize("tau_scale", [1.0, 0.25])
def test_quadrature_against_importance_sampling(tau_scale):
    quad = map_model.map_quadrature(EVENTS, N, tau_scale=tau_scale)
    theta_new, weight = _prior_importance_sampling(EVENTS, N, tau_scale)
    ess = 1 / np.sum(weight**2)
    se = np.sqrt(np.sum(weight * (theta_new - quad.predictive_mean) ** 2) / ess)
    assert quad.predictive_mean == pytest.approx(np.sum(weight * theta_new), abs=4 * se + 1e-4)
    for risk in (0.05, 0.2, 0.5):
        reference = np.sum(weight * (theta_new <= risk))
        assert quad.predictive_cdf(risk)[0] == pytest.approx(reference, abs=0.005)


def test_quadrature_single_study_against_nested_integration():
    # one study, tau fixed near a point mass: the model reduces to a logit-normal prior on mu,
    # i.e. p(theta | y) ∝ Bin(y | n, theta) · N(logit theta; 0, 2) / (theta (1 - theta))
    quad = map_model.map_quadrature([0], [18], tau_scale=0.002)

    def unnormalised(t):
        return stats.binom.pmf(0, 18, t) * stats.norm.pdf(special.logit(t), 0, 2) / (t * (1 - t))

    evidence = integrate.quad(unnormalised, 0, 1, points=[1e-4, 1e-2], limit=400)[0]
    mean = integrate.quad(lambda t: t * unnormalised(t), 0, 1, points=[1e-4, 1e-2], limit=400)[0] / evidence
    assert quad.predictive_mean == pytest.approx(mean, rel=5e-3)  # grid resolution of tau near 0


def test_predictive_count_pmf_against_importance_sampling():
    pmf = map_model.predictive_count_pmf(EVENTS, N, 19)
    assert pmf.sum() == pytest.approx(1)
    theta_new, weight = _prior_importance_sampling(EVENTS, N, 1.0, size=1_000_000)
    reference = np.array([np.sum(weight * stats.binom.pmf(k, 19, theta_new)) for k in (0, 6, 12)])
    np.testing.assert_allclose(pmf[[0, 6, 12]], reference, atol=0.004)


def test_crosscheck_accepts_exact_draws_and_rejects_shifted_ones():
    quad = map_model.map_quadrature(EVENTS, N)
    rng = np.random.default_rng(4)
    draws = quad.sample_predictive(8000, rng).reshape(2, 4000)
    table = map_model.crosscheck_predictive(draws, quad)
    assert table["agrees"].all()
    with pytest.raises(mcmc.ConvergenceError, match="disagree"):
        map_model.crosscheck_predictive(np.clip(draws + 0.05, 0, 1), quad)


def test_predictive_density_integrates_to_one_and_matches_the_mean():
    quad = map_model.map_quadrature(EVENTS, N)
    pdf = lambda x: quad.predictive_pdf(x)[0]  # noqa: E731
    assert integrate.quad(pdf, 0, 1, limit=200, points=[0.01, 0.1, 0.5])[0] == pytest.approx(1, abs=1e-6)
    mean = integrate.quad(lambda x: x * pdf(x), 0, 1, limit=200, points=[0.01, 0.1, 0.5])[0]
    assert mean == pytest.approx(quad.predictive_mean, abs=5e-4)
    assert quad.predictive_cdf(0.3)[0] == pytest.approx(
        integrate.quad(pdf, 0, 0.3, limit=200, points=[0.01, 0.1])[0], abs=2e-3
    )


def test_map_posterior_mean_against_importance_sampling():
    theta_new, weight = _prior_importance_sampling(EVENTS, N, 1.0, size=1_000_000, seed=8)
    trial_weight = weight * stats.binom.pmf(6, 19, theta_new)
    reference = np.sum(trial_weight * theta_new) / np.sum(trial_weight)
    assert map_model.map_posterior_mean(EVENTS, N, 6, 19) == pytest.approx(reference, abs=0.004)


def test_gate_uses_unrounded_diagnostics():
    import arviz as az
    import numpy as np

    from nkreport.analysis import mcmc

    rng = np.random.default_rng(7)
    draws = rng.normal(size=(2, 1000))
    draws[1] += 0.05  # a small shift between chains: R-hat a little above 1
    idata = az.from_dict(posterior={"x": draws}, sample_stats={"diverging": np.zeros((2, 1000), bool)})
    report = mcmc.gate_report(idata, "toy")
    assert report.max_rhat == float(az.rhat(idata)["x"])
    assert report.min_ess_bulk == float(az.ess(idata, method="bulk")["x"])
    assert report.max_rhat != round(report.max_rhat, 2)


def test_vectorised_quantiles_agree_with_root_finding():
    quad = map_model.map_quadrature(EVENTS, N)
    probs = [0.001, 0.025, 0.25, 0.5, 0.75, 0.975, 0.999]
    by_root = [quad.predictive_quantile(p) for p in probs]
    np.testing.assert_allclose(quad.predictive_quantiles(probs), by_root, rtol=1e-5, atol=1e-8)


def test_exact_points_are_the_quantiles_at_midpoint_probabilities():
    quad = map_model.map_quadrature(EVENTS, N)
    points = quad.exact_points(400)
    assert np.all(np.diff(points) > 0)
    # their empirical CDF is the exact CDF up to the half step 1/(2 size)
    assert np.max(np.abs(quad.predictive_cdf(points) - (np.arange(400) + 0.5) / 400)) < 1e-5
    # and their mean is the predictive mean up to the discretisation of the tails
    assert points.mean() == pytest.approx(quad.predictive_mean, abs=2e-3)


def test_mixture_quantile_check_flags_a_mixture_outside_the_tolerance():
    from nkreport.analysis.priors import BetaMixture

    quad = map_model.map_quadrature(EVENTS, N)
    mixture = map_model.fit_mixture_to_quadrature(quad).mixture
    check = map_model.mixture_quantile_check(mixture, quad)
    assert check["within"].all(), check
    np.testing.assert_allclose(check["exact"], [quad.predictive_quantile(p) for p in check["prob"]], rtol=1e-5)
    wrong = map_model.mixture_quantile_check(BetaMixture.beta(2.0, 18.0), quad)
    assert not wrong["within"].all()


def test_sampling_runs_at_most_one_chain_per_core(monkeypatch):
    monkeypatch.setattr(mcmc.os, "cpu_count", lambda: 2)
    kwargs = map_model.SAMPLING.kwargs()
    assert kwargs["chains"] == 4 and kwargs["cores"] == 2
