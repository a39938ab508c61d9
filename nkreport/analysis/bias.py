r"""Bias in the earlier comparisons: how large would it have to be to change the answer?

The earlier comparisons of NK-treated with untreated patients are retrospective and
non-randomised, so each observed log odds ratio may carry a bias besides chance (confounding by
indication: the cells were given to chosen patients). Following the additive bias model of
Turner et al. (2009) and Welton et al. (2009), the normal approximation of the comparative
model (:func:`nkreport.analysis.comparative.normal_normal_quadrature`) gains one bias term
shared by the observational studies:

.. math::

    y_j \sim N(\theta_j + \beta, v_j), \quad \theta_j \sim N(d, \tau^2), \quad
    \beta \sim N(\mu_\beta, \sigma_\beta^2), \quad d \sim N(0, s_d^2), \quad
    \tau \sim \mathrm{HalfNormal}(s_\tau),

where :math:`y_j` is study *j*'s empirical log odds ratio with Woolf variance :math:`v_j` and
:math:`d` the pooled log odds ratio of NK cells against none. A bias towards benefit is
:math:`\mu_\beta < 0` (the studies' odds ratios are :math:`e^{\mu_\beta}` times the truth).
The bias is shared because both comparisons come from one centre's programme, with the same
way of choosing patients; a shared bias is not averaged away by pooling.

Given :math:`\tau`, everything is Gaussian: with :math:`S = \mathrm{diag}(v + \tau^2) +
\sigma_\beta^2 11^\top`, the posterior of :math:`d` has precision :math:`P = s_d^{-2} + 1^\top
S^{-1} 1` and mean :math:`m = 1^\top S^{-1} (y - \mu_\beta 1) / P`, and the marginal likelihood
is :math:`y \sim N(\mu_\beta 1, S + s_d^2 11^\top)`. One Gauss-Legendre rule over
:math:`\tau` then gives, for any :math:`(\mu_\beta, \sigma_\beta)`, the probability of benefit
:math:`P(d < 0 \mid y)` and, for a new centre, :math:`P(d + \tau z < 0 \mid y)`: a whole grid
costs less than a second, where MCMC would need one run per point.

This is a tipping-point analysis, not an estimate of the bias: it shows which biases would move
the probability of benefit below 0.95, 0.8 or 0.5, and leaves the reader to judge whether
biases that large are plausible for these studies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .comparative import EFFECT_PRIOR_SD, TAU_SCALE

#: Probabilities of benefit whose crossing the tipping-point analysis reports.
TIPPING_LEVELS = (0.95, 0.8, 0.5)
#: Grid of the mean bias on the log odds-ratio scale (negative: towards benefit) ...
BIAS_MEAN_GRID = np.round(np.linspace(-2.0, 0.5, 51), 3)
#: ... and of its standard deviation (uncertainty about the bias).
BIAS_SD_GRID = np.round(np.linspace(0.0, 1.5, 31), 3)
#: A bias SD the text quotes (uncertainty about the bias, log odds-ratio scale).
EXAMPLE_BIAS_SD = 0.5
#: The bias prior of the adjusted analysis, beta ~ N(BIAS_PRIOR_MEAN, BIAS_PRIOR_SD^2) on the
#: log odds-ratio scale (negative: the earlier comparisons overstate the benefit). From the
#: meta-epidemiology of non-randomised against randomised evidence: non-randomised studies
#: tended to show larger effects (28 of 45 topics against 11; Ioannidis et al. 2001,
#: doi:10.1001/jama.286.7.821); studies of routinely collected data gave more favourable
#: mortality results than later trials, ratio of odds ratios 1.31 (1.03 to 1.65), i.e. a log
#: bias of about -0.27 (Hemkens et al. 2016, doi:10.1136/bmj.i493), a figure that depends on
#: how each comparison is oriented (0.98 under another rule; Franklin et al. 2017,
#: doi:10.1515/em-2016-0018); across eight regions of one resampled trial, historically
#: controlled comparisons differed from randomised ones by ratios of odds ratios from 0.52 to
#: 2.12 (Deeks et al. 2003, HTA 7(27), Table 18), a spread of about 0.4 on the log scale with the
#: direction unknown in advance. Mean -0.2 (an overstatement by a factor of about 1.2), SD 0.4.
BIAS_PRIOR_MEAN = -0.2
BIAS_PRIOR_SD = 0.4
#: The wider prior shown beside it: the odds ratios of randomised and non-randomised evidence
#: differed at least two-fold in 15 of 45 topics (33 %; Ioannidis et al. 2001), which a normal
#: bias reproduces with an SD of about 0.7 (an upper bound: it includes sampling error).
BIAS_PRIOR_MEAN_WIDE = -0.3
BIAS_PRIOR_SD_WIDE = 0.7
#: Half-normal scale of the window term in the adjusted analysis (log-odds increase of the
#: baseline for outcome windows other than 30 days): twice the main sensitivity's 0.5, whose
#: median (0.34) matches the 90-day gap of :mod:`nkreport.analysis.windows`, so that windows
#: left unstated (possibly a year) are covered too.
WINDOW_SCALE_WIDE = 1.0
#: Points of the Gauss-Legendre rule over tau, on [0, TAU_RANGE * tau_scale].
TAU_POINTS = 400
TAU_RANGE = 12.0


@dataclass(frozen=True)
class BiasResult:
    """Posterior summaries of the pooled log odds ratio under one bias assumption."""

    bias_mean: float
    bias_sd: float
    pooled_mean: float
    p_pooled_below_0: float
    p_new_below_0: float


def _tau_rule(tau_scale: float, points: int = TAU_POINTS) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(points)
    upper = TAU_RANGE * tau_scale
    tau = 0.5 * upper * (nodes + 1.0)
    return tau, 0.5 * upper * weights * stats.halfnorm.pdf(tau, scale=tau_scale)


@lru_cache(maxsize=64)
def _sd_terms(v: tuple[float, ...], bias_sd: float, effect_sd: float, tau_scale: float):
    """Everything that depends on the variances and the bias SD but not on the data or the mean
    bias, at every node of the tau rule (cached: a tipping-point search varies the mean only)."""
    v = np.asarray(v, dtype=float)
    k = v.size
    tau, prior_weight = _tau_rule(tau_scale)
    ones = np.ones(k)
    # S(tau) = diag(v + tau^2) + sigma_b^2 11', one k x k matrix per node
    s = np.broadcast_to(np.full((k, k), bias_sd**2), (tau.size, k, k)).copy()
    s[:, np.arange(k), np.arange(k)] += v[None, :] + tau[:, None] ** 2
    s_inv = np.linalg.inv(s)
    precision = 1.0 / effect_sd**2 + np.einsum("i,tij,j->t", ones, s_inv, ones)  # (tau,)
    marginal = s + effect_sd**2
    _, logdet = np.linalg.slogdet(marginal)
    terms = (tau, prior_weight, s_inv, precision, np.linalg.inv(marginal), logdet)
    for array in terms:
        array.setflags(write=False)
    return terms


def _posterior(y, v, bias_means, bias_sd: float, effect_sd: float, tau_scale: float) -> dict[str, np.ndarray]:
    """Posterior summaries for every mean bias in ``bias_means`` at one bias SD (vectorised:
    the covariance matrices depend on the SD only)."""
    y = np.asarray(y, dtype=float)
    variances = tuple(float(x) for x in np.asarray(v, dtype=float))
    means = np.atleast_1d(np.asarray(bias_means, dtype=float))
    tau, prior_weight, s_inv, precision, marginal_inv, logdet = _sd_terms(
        variances, float(bias_sd), float(effect_sd), float(tau_scale)
    )
    ones = np.ones(y.size)
    centred = y[None, :] - means[:, None]  # (mean, study)
    mean = np.einsum("i,tij,mj->mt", ones, s_inv, centred)
    mean = mean / precision[None, :]
    quad_form = np.einsum("mi,tij,mj->mt", centred, marginal_inv, centred)
    log_lik = -0.5 * (quad_form + logdet[None, :])
    weight = prior_weight[None, :] * np.exp(log_lik - log_lik.max(axis=1, keepdims=True))
    weight /= weight.sum(axis=1, keepdims=True)
    pooled_sd = np.sqrt(1.0 / precision)
    new_sd = np.sqrt(1.0 / precision + tau**2)
    return {
        "pooled_mean": (weight * mean).sum(axis=1),
        "p_pooled_below_0": (weight * stats.norm.cdf(-mean / pooled_sd[None, :])).sum(axis=1),
        "p_new_below_0": (weight * stats.norm.cdf(-mean / new_sd[None, :])).sum(axis=1),
    }


def bias_posterior(
    log_or,
    variance,
    bias_mean: float,
    bias_sd: float,
    *,
    effect_sd: float = EFFECT_PRIOR_SD,
    tau_scale: float = TAU_SCALE,
) -> BiasResult:
    """The pooled log odds ratio's posterior when every study carries the shared bias
    :math:`\\beta \\sim N(\\mu_\\beta, \\sigma_\\beta^2)` (see the module docstring)."""
    out = _posterior(log_or, variance, [bias_mean], bias_sd, effect_sd, tau_scale)
    return BiasResult(
        float(bias_mean),
        float(bias_sd),
        *(float(out[key][0]) for key in ("pooled_mean", "p_pooled_below_0", "p_new_below_0")),
    )


def tipping_grid(
    log_or,
    variance,
    bias_means=BIAS_MEAN_GRID,
    bias_sds=BIAS_SD_GRID,
    *,
    effect_sd: float = EFFECT_PRIOR_SD,
    tau_scale: float = TAU_SCALE,
) -> pd.DataFrame:
    """:func:`bias_posterior` over a grid: one row per (bias mean, bias SD)."""
    frames = []
    for bias_sd in bias_sds:
        out = _posterior(log_or, variance, bias_means, float(bias_sd), effect_sd, tau_scale)
        frames.append(
            pd.DataFrame({"bias_mean": np.asarray(bias_means, dtype=float), "bias_sd": float(bias_sd), **out})
        )
    return pd.concat(frames, ignore_index=True)


def tipping_point(
    log_or,
    variance,
    level: float,
    *,
    bias_sd: float = 0.0,
    quantity: str = "p_pooled_below_0",
    bracket: tuple[float, float] = (-6.0, 3.0),
    **kwargs,
) -> float | None:
    """The mean bias at which the probability of benefit (``quantity``) equals ``level``, for a
    bias of standard deviation ``bias_sd``; None when no bias in ``bracket`` reaches it.

    The probability of benefit rises with ``bias_mean``: a bias further towards benefit (more
    negative) removes more of the observed benefit, so the root is unique."""

    def gap(bias_mean: float) -> float:
        return getattr(bias_posterior(log_or, variance, bias_mean, bias_sd, **kwargs), quantity) - level

    low, high = bracket
    if gap(low) * gap(high) > 0:
        return None
    return float(optimize.brentq(gap, low, high, xtol=1e-6))


def prob_at_least_fold(bias_mean: float, bias_sd: float, fold: float = 2.0) -> float:
    """P(|beta| >= log(fold)) for beta ~ N(bias_mean, bias_sd^2): the share of comparisons whose
    odds ratio a bias of this prior moves by at least ``fold`` in either direction (how the
    wider prior is matched to the two-fold discrepancies of Ioannidis et al. 2001)."""
    bound = np.log(fold)
    inside = stats.norm.cdf(bound, bias_mean, bias_sd) - stats.norm.cdf(-bound, bias_mean, bias_sd)
    return float(1.0 - inside)
