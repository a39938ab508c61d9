"""The shared-bias tipping-point analysis against independent references: the normal-normal
quadrature of the comparative module (adaptive, no bias), a shifted-data identity, and direct
two-dimensional integration over (d, tau) of the marginal likelihood with the bias integrated
out by the multivariate normal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from nkreport import data
from nkreport.analysis import bias, comparative


@pytest.fixture(scope="module")
def observed():
    evidence = comparative.build_evidence(data.load_cohorts())
    table = comparative.empirical_log_odds_ratios(evidence)
    return table["log_or"].to_numpy(), table["variance"].to_numpy()


def test_no_bias_equals_the_normal_normal_quadrature(observed):
    y, v = observed
    reference = comparative.normal_normal_quadrature(y, v)
    result = bias.bias_posterior(y, v, 0.0, 0.0)
    assert result.pooled_mean == pytest.approx(reference["mean"], abs=1e-9)
    assert result.p_pooled_below_0 == pytest.approx(reference["p_below_0"], abs=1e-9)


@pytest.mark.parametrize("bias_mean", [-1.0, -0.3, 0.4])
def test_a_known_bias_is_the_same_as_shifting_the_data(observed, bias_mean):
    y, v = observed
    reference = comparative.normal_normal_quadrature(y - bias_mean, v)
    result = bias.bias_posterior(y, v, bias_mean, 0.0)
    assert result.p_pooled_below_0 == pytest.approx(reference["p_below_0"], abs=1e-9)


def _direct(y, v, bias_mean, bias_sd, new_centre=False):
    """P(d < 0 | y) (or P(d + tau z < 0 | y)) by integrating prior x likelihood over (d, tau)."""
    k = len(y)

    def density(d, tau):
        cov = np.diag(v + tau**2) + bias_sd**2 * np.ones((k, k))
        return (
            stats.norm.pdf(d, 0, comparative.EFFECT_PRIOR_SD)
            * stats.halfnorm.pdf(tau, scale=comparative.TAU_SCALE)
            * stats.multivariate_normal.pdf(y, np.full(k, d + bias_mean), cov)
        )

    upper = bias.TAU_RANGE * comparative.TAU_SCALE
    options = dict(epsabs=1e-12, epsrel=1e-7)
    total = integrate.dblquad(density, 0, upper, -8, 6, **options)[0]
    if new_centre:
        below = integrate.dblquad(
            lambda d, tau: density(d, tau) * stats.norm.cdf(-d / tau if tau > 0 else -np.inf * d),
            0,
            upper,
            -12,
            12,
            **options,
        )[0]
    else:
        below = integrate.dblquad(density, 0, upper, -8, 0, **options)[0]
    return below / total


@pytest.mark.parametrize("bias_mean, bias_sd", [(-0.5, 0.4), (-1.2, 1.0), (0.3, 0.2)])
def test_against_direct_integration(observed, bias_mean, bias_sd):
    y, v = observed
    result = bias.bias_posterior(y, v, bias_mean, bias_sd)
    assert result.p_pooled_below_0 == pytest.approx(_direct(y, v, bias_mean, bias_sd), abs=2e-6)


def test_new_centre_against_direct_integration(observed):
    y, v = observed
    result = bias.bias_posterior(y, v, -0.5, 0.4)
    assert result.p_new_below_0 == pytest.approx(_direct(y, v, -0.5, 0.4, new_centre=True), abs=2e-5)


def test_the_grid_is_the_pointwise_posterior_and_monotone(observed):
    y, v = observed
    grid = bias.tipping_grid(y, v, bias_means=[-1.5, -0.5, 0.0, 0.5], bias_sds=[0.0, 0.7])
    for row in grid.itertuples():
        point = bias.bias_posterior(y, v, row.bias_mean, row.bias_sd)
        assert row.p_pooled_below_0 == pytest.approx(point.p_pooled_below_0, abs=1e-12)
        assert row.p_new_below_0 == pytest.approx(point.p_new_below_0, abs=1e-12)
    for _, part in grid.groupby("bias_sd"):
        assert np.all(np.diff(part.sort_values("bias_mean")["p_pooled_below_0"]) > 0)


@pytest.mark.parametrize("level", bias.TIPPING_LEVELS)
def test_tipping_points_solve_their_equation(observed, level):
    y, v = observed
    for quantity in ("p_pooled_below_0", "p_new_below_0"):
        point = bias.tipping_point(y, v, level, bias_sd=0.5, quantity=quantity)
        assert point is not None
        assert getattr(bias.bias_posterior(y, v, point, 0.5), quantity) == pytest.approx(level, abs=1e-5)
    # without bias uncertainty every level is crossed only by a bias towards benefit
    assert bias.tipping_point(y, v, level) < 0
    assert bias.tipping_point(y, v, level, bracket=(0.0, 3.0)) is None


# ----------------------------------------------------------------- the bias term of the MCMC model


def test_the_comparative_models_log_density_carries_the_shared_bias():
    """The PyMC model's log density at a random point equals the density written out by hand
    with scipy: the NK arms of the earlier comparisons see effect + beta, the trial does not,
    and the trial's baseline shift has the setting's mean and SD."""
    from scipy.special import expit

    evidence = comparative.build_evidence(data.load_cohorts())
    setting = comparative.Setting(
        "biased", bias_mean=-0.3, bias_sd=0.6, shift_mean=0.4, shift_scale=0.7, window_scale=0.8
    )
    model = comparative.build_model(evidence, [setting])
    rng = np.random.default_rng(20261201)
    n_studies = len(evidence.studies)
    point = {
        "baseline_mean": rng.normal(-1.0, 0.3, 1),
        "baseline_sd": rng.uniform(0.2, 1.0, 1),
        "baseline_z": rng.normal(size=(1, n_studies)),
        "pooled_log_or": rng.normal(-0.5, 0.3, 1),
        "tau_raw": rng.uniform(0.2, 1.5, 1),
        "effect_z": rng.normal(size=(1, n_studies)),
        "shift_z": rng.normal(size=1),
        "window_raw": rng.uniform(0.1, 1.0, 1),
        "bias_z": rng.normal(size=1),
        "new_effect_z": rng.normal(size=1),
        "new_baseline_z": rng.normal(size=1),
    }
    values = {}
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        x = point[rv.name]
        values[value.name] = np.log(x) if value.name.endswith("_log__") else x
    logp = model.compile_logp(jacobian=False)(values)

    studies, arms = evidence.studies, evidence.arms
    kind = studies["kind"].to_numpy()
    baseline = (
        point["baseline_mean"][0]
        + point["baseline_sd"][0] * point["baseline_z"][0]
        + (kind == "trial") * (0.4 + 0.7 * point["shift_z"][0])
        + studies["long_window"].to_numpy() * 0.8 * point["window_raw"][0]
    )
    effect = point["pooled_log_or"][0] + comparative.TAU_SCALE * point["tau_raw"][0] * point["effect_z"][0]
    beta = -0.3 + 0.6 * point["bias_z"][0]
    seen = effect + beta * (kind == "comparative")
    index = arms["study_index"].to_numpy()
    risk = expit(baseline[index] + arms["treated"].to_numpy() * seen[index])
    n = comparative.arm_sizes(evidence, setting)  # the external baselines are out (n = 0)
    expected = stats.binom.logpmf(np.where(n > 0, arms["events"], 0), n, risk).sum()
    expected += stats.norm.logpdf(
        point["baseline_mean"], comparative.BASELINE_PRIOR_MEAN, comparative.BASELINE_PRIOR_SD
    ).sum()
    expected += stats.halfnorm.logpdf(point["baseline_sd"], scale=comparative.BASELINE_SD_SCALE).sum()
    expected += stats.norm.logpdf(point["pooled_log_or"], 0.0, comparative.EFFECT_PRIOR_SD).sum()
    expected += stats.halfnorm.logpdf(point["tau_raw"]).sum() + stats.halfnorm.logpdf(point["window_raw"]).sum()
    for name in ("baseline_z", "effect_z", "shift_z", "bias_z", "new_effect_z", "new_baseline_z"):
        expected += stats.norm.logpdf(point[name]).sum()
    assert logp == pytest.approx(expected, rel=1e-9)


def test_the_wide_bias_prior_reproduces_two_fold_discrepancies_in_a_third():
    # Ioannidis et al. 2001: the odds ratios differed at least two-fold in 15 of 45 topics
    share = bias.prob_at_least_fold(bias.BIAS_PRIOR_MEAN_WIDE, bias.BIAS_PRIOR_SD_WIDE)
    draws = np.random.default_rng(7).normal(bias.BIAS_PRIOR_MEAN_WIDE, bias.BIAS_PRIOR_SD_WIDE, 400_000)
    assert share == pytest.approx(np.mean(np.abs(draws) >= np.log(2)), abs=3e-3)
    assert abs(share - 15 / 45) < 0.05
