"""Assurance of the next trial: the probability of success averaged over what we now believe.

The next trial is imagined as a two-arm randomised trial of NK cells against control with
``n`` patients per arm and BSI within 30 days as its endpoint. **Success** means a one-sided
Fisher exact test of fewer infections with NK cells at level ``alpha = 0.025``.

For a given control risk ``p_c`` and NK risk ``p_t`` the power is an exact binomial sum over
every possible outcome table,

    power(n) = sum_{x_c, x_t} Bin(x_c; n, p_c) Bin(x_t; n, p_t) 1[Fisher p(x_c, x_t) <= alpha],

and the assurance averages it over posterior-predictive draws of ``(p_c, OR)`` for a new study
(:func:`nkreport.comparative.predictive_draws`). Everything is vectorised over draws and
tables, so there is no simulation error beyond that of the posterior draws themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

ALPHA = 0.025
SAMPLE_SIZES = (20, 40, 60, 80, 100, 125, 150, 200, 250, 300, 400)


def fisher_p_values(n_per_arm: int) -> np.ndarray:
    """One-sided Fisher exact p-values for fewer events on NK, for every table.

    Entry ``[x_c, x_t]`` is P(X_t ≤ x_t) for the hypergeometric distribution of the NK-arm events
    given the total ``x_c + x_t`` and equal arms of ``n_per_arm``.
    """
    x = np.arange(n_per_arm + 1)
    x_control, x_treated = np.meshgrid(x, x, indexing="ij")
    return stats.hypergeom.cdf(x_treated, 2 * n_per_arm, x_control + x_treated, n_per_arm)


def success_region(n_per_arm: int, alpha: float = ALPHA) -> np.ndarray:
    """Indicator matrix ``[x_c, x_t]`` of the tables that count as success."""
    return (fisher_p_values(n_per_arm) <= alpha + 1e-12).astype(float)


def power(n_per_arm: int, control_risk, treated_risk, alpha: float = ALPHA) -> np.ndarray:
    """Exact probability of success for each pair of risks (vectorised over the pairs)."""
    control_risk = np.atleast_1d(np.asarray(control_risk, dtype=float))
    treated_risk = np.atleast_1d(np.asarray(treated_risk, dtype=float))
    x = np.arange(n_per_arm + 1)
    control_pmf = stats.binom.pmf(x[None, :], n_per_arm, control_risk[:, None])
    treated_pmf = stats.binom.pmf(x[None, :], n_per_arm, treated_risk[:, None])
    return np.einsum("di,di->d", control_pmf @ success_region(n_per_arm, alpha), treated_pmf)


def treated_risk(control_risk, log_or) -> np.ndarray:
    return expit(logit(np.asarray(control_risk, dtype=float)) + np.asarray(log_or, dtype=float))


def assurance(n_per_arm: int, control_risk, log_or, alpha: float = ALPHA) -> dict:
    """Assurance (mean power over draws) with its Monte Carlo standard error over the draws."""
    powers = power(n_per_arm, control_risk, treated_risk(control_risk, log_or), alpha)
    return {"n_per_arm": n_per_arm, "assurance": float(powers.mean()),
            "mcse": float(powers.std(ddof=1) / np.sqrt(len(powers)))}


def assurance_curve(control_risk, log_or, sample_sizes=SAMPLE_SIZES, alpha: float = ALPHA) -> pd.DataFrame:
    """Assurance for each sample size per arm; also the probability the effect is beneficial
    (OR < 1), the ceiling the assurance approaches as the trial grows."""
    rows = [assurance(n, control_risk, log_or, alpha) for n in sample_sizes]
    frame = pd.DataFrame(rows)
    frame["p_beneficial"] = float(np.mean(np.asarray(log_or) < 0))
    return frame


def smallest_n(curve: pd.DataFrame, target: float) -> int | None:
    """The smallest sample size per arm in ``curve`` whose assurance reaches ``target``."""
    reached = curve.loc[curve["assurance"] >= target, "n_per_arm"]
    return int(reached.min()) if len(reached) else None


def simulate_assurance(n_per_arm: int, control_risk, log_or, *, alpha: float = ALPHA, seed: int) -> float:
    """Assurance by simulating one trial per draw and running scipy's Fisher test (slow; for tests)."""
    rng = np.random.default_rng(seed)
    control_risk = np.asarray(control_risk, dtype=float)
    x_c = rng.binomial(n_per_arm, control_risk)
    x_t = rng.binomial(n_per_arm, treated_risk(control_risk, log_or))
    wins = [stats.fisher_exact([[t, n_per_arm - t], [c, n_per_arm - c]], alternative="less").pvalue <= alpha
            for c, t in zip(x_c, x_t)]
    return float(np.mean(wins))
