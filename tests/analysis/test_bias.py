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
