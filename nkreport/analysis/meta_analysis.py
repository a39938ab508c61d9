r"""Frequentist meta-analysis of the comparative studies, beside the Bayesian pooled odds ratio.

For study log odds ratios :math:`y_j` with within-study variances :math:`v_j`:

* **DerSimonian-Laird**: :math:`\hat\tau^2 = \max\{0, (Q - (k - 1)) / (\sum w_j - \sum w_j^2 /
  \sum w_j)\}` with :math:`w_j = 1/v_j` and :math:`Q = \sum w_j (y_j - \bar y_w)^2`;
  statsmodels' ``combine_effects(method_re="chi2")`` computes the same statistic but does not
  truncate it at zero, so with few, homogeneous studies it returns a negative :math:`\tau^2`.
* **REML**: :math:`\hat\tau^2` maximises the restricted log-likelihood
  :math:`-\tfrac12 \sum \log(v_j + \tau^2) - \tfrac12 \log \sum w_j^* - \tfrac12 \sum w_j^*
  (y_j - \hat\mu)^2`, :math:`w_j^* = 1/(v_j + \tau^2)`, over :math:`\tau^2 \ge 0`.
* **Peto**: the one-step odds ratio :math:`\log \widehat{OR} = \sum (O_j - E_j) / \sum V_j`
  from each 2x2 table's hypergeometric mean :math:`E_j` and variance :math:`V_j` of the treated
  arm's events, standard error :math:`(\sum V_j)^{-1/2}` (a check that needs no continuity
  correction for zero cells).

The random-effects estimate is :math:`\hat\mu = \sum w_j^* y_j / \sum w_j^*` with standard
error :math:`(\sum w_j^*)^{-1/2}` and a normal 95 % interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

#: Two-sided level of the intervals.
LEVEL = 0.95
#: Upper end of the REML search for tau^2 (log odds ratio scale).
REML_TAU2_MAX = 25.0


def _random_effects(y: np.ndarray, v: np.ndarray, tau2: float) -> dict:
    w = 1.0 / (v + tau2)
    mu = float((w * y).sum() / w.sum())
    se = float(1.0 / np.sqrt(w.sum()))
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    return {"tau2": float(tau2), "log_or": mu, "se": se, "low": mu - z * se, "high": mu + z * se}


def q_statistic(log_or, variance) -> float:
    """Cochran's Q."""
    y, v = np.asarray(log_or, dtype=float), np.asarray(variance, dtype=float)
    w = 1.0 / v
    return float((w * (y - (w * y).sum() / w.sum()) ** 2).sum())


def dersimonian_laird(log_or, variance) -> dict:
    """Random-effects estimate with the DerSimonian-Laird tau^2, truncated at zero; ``raw_tau2``
    is the untruncated moment estimate."""
    y, v = np.asarray(log_or, dtype=float), np.asarray(variance, dtype=float)
    w = 1.0 / v
    raw = (q_statistic(y, v) - (y.size - 1)) / (w.sum() - (w**2).sum() / w.sum())
    return {**_random_effects(y, v, max(0.0, raw)), "raw_tau2": float(raw)}


def restricted_log_likelihood(log_or, variance, tau2: float) -> float:
    y, v = np.asarray(log_or, dtype=float), np.asarray(variance, dtype=float)
    w = 1.0 / (v + tau2)
    mu = (w * y).sum() / w.sum()
    return float(-0.5 * np.log(v + tau2).sum() - 0.5 * np.log(w.sum()) - 0.5 * (w * (y - mu) ** 2).sum())


def reml(log_or, variance) -> dict:
    """Random-effects estimate with the REML tau^2 (bounded search on [0, REML_TAU2_MAX])."""
    y, v = np.asarray(log_or, dtype=float), np.asarray(variance, dtype=float)
    found = optimize.minimize_scalar(
        lambda t: -restricted_log_likelihood(y, v, t),
        bounds=(0.0, REML_TAU2_MAX),
        method="bounded",
        options={"xatol": 1e-10},
    )
    tau2 = float(found.x)
    if restricted_log_likelihood(y, v, 0.0) >= restricted_log_likelihood(y, v, tau2):
        tau2 = 0.0  # the maximum is on the boundary
    return _random_effects(y, v, tau2)


def peto(tables) -> dict:
    """Peto's one-step pooled log odds ratio from 2x2 tables ``(events_treated, n_treated,
    events_untreated, n_untreated)``."""
    observed_minus_expected = variance = 0.0
    for a, n1, c, n0 in tables:
        total, events = n1 + n0, a + c
        observed_minus_expected += a - n1 * events / total
        variance += n1 * n0 * events * (total - events) / (total**2 * (total - 1))
    log_or = observed_minus_expected / variance
    se = 1.0 / np.sqrt(variance)
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    return {"log_or": float(log_or), "se": float(se), "low": float(log_or - z * se), "high": float(log_or + z * se)}


def frequentist_table(log_or, variance, tables) -> pd.DataFrame:
    """DerSimonian-Laird, REML and Peto pooled odds ratios with 95 % intervals and tau^2."""
    rows = []
    for method, result in (
        ("DerSimonian-Laird", dersimonian_laird(log_or, variance)),
        ("REML", reml(log_or, variance)),
        ("Peto (fixed effect)", peto(tables)),
    ):
        rows.append(
            {
                "method": method,
                "tau2": result.get("tau2", np.nan),
                "or": np.exp(result["log_or"]),
                "or_low": np.exp(result["low"]),
                "or_high": np.exp(result["high"]),
            }
        )
    return pd.DataFrame(rows)
