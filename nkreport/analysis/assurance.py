"""Assurance of the next trial: the probability of success averaged over what we now believe.

The next trial is imagined as a two-arm randomised trial of NK cells against control with
``n`` patients per arm and BSI within 30 days as its endpoint. **Success** means a one-sided
Fisher exact test of fewer infections with NK cells at level ``alpha = 0.025``.

For a given control risk ``p_c`` and NK risk ``p_t`` the power is an exact binomial sum over
every possible outcome table,

    power(n) = sum_{x_c, x_t} Bin(x_c; n, p_c) Bin(x_t; n, p_t) 1[Fisher p(x_c, x_t) <= alpha],

and the assurance averages it over posterior-predictive draws of ``(p_c, OR)`` for a new study
(:func:`nkreport.analysis.comparative.predictive_draws`). Everything is vectorised over draws and
tables, so there is no simulation error beyond that of the posterior draws themselves.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, gammaln, logit

ALPHA = 0.025
SAMPLE_SIZES = (20, 40, 60, 80, 100, 125, 150, 200, 250, 300, 400)
#: An odds ratio below this counts as a clinically important effect (a reduction of the odds
#: of BSI by 30 % or more).
IMPORTANT_OR = 0.7
#: Assumed 30-day control risks across the plausible range (the one 30-day untreated rate in
#: the evidence is about 10 %; the long-window untreated arms about 30 %).
CONTROL_RISKS_30 = (0.10, 0.15, 0.20, 0.30)
#: Patients per arm at which the conditional assurance is reported.
REPORTED_SIZES = (100, 200, 400)


@lru_cache(maxsize=64)
def fisher_p_values(n_per_arm: int) -> np.ndarray:
    """One-sided Fisher exact p-values for fewer events on NK, for every table.

    Entry ``[x_c, x_t]`` is P(X_t ≤ x_t) for the hypergeometric distribution of the NK-arm events
    given the total ``k = x_c + x_t`` and equal arms of ``n_per_arm``: the hypergeometric
    probabilities ``C(n, j) C(n, k - j) / C(2n, k)`` are tabulated for every total ``k`` and
    summed cumulatively over ``j``.
    """
    n = n_per_arm
    totals = np.arange(2 * n + 1)[:, None]
    j = np.arange(n + 1)[None, :]
    valid = (totals - j >= 0) & (totals - j <= n)
    other = np.clip(totals - j, 0, n)
    log_pmf = _log_choose(n, j) + _log_choose(n, other) - _log_choose(2 * n, totals)
    cdf = np.cumsum(np.exp(np.where(valid, log_pmf, -np.inf)), axis=1)
    x = np.arange(n + 1)
    p = cdf[x[:, None] + x[None, :], x[None, :]]
    p.setflags(write=False)
    return np.minimum(p, 1.0)


def _log_choose(n, k):
    return gammaln(np.asarray(n) + 1.0) - gammaln(np.asarray(k) + 1.0) - gammaln(np.asarray(n) - np.asarray(k) + 1.0)


def success_region(n_per_arm: int, alpha: float = ALPHA) -> np.ndarray:
    """Indicator matrix ``[x_c, x_t]`` of the tables that count as success."""
    return (fisher_p_values(n_per_arm) <= alpha * (1 + 1e-9)).astype(float)


def binomial_pmf(n: int, risk) -> np.ndarray:
    """``[draw, x]`` binomial probabilities of x = 0..n events for each risk (vectorised)."""
    risk = np.clip(np.atleast_1d(np.asarray(risk, dtype=float)), 1e-300, 1 - 1e-16)
    x = np.arange(n + 1)[None, :]
    return np.exp(_log_choose(n, x) + x * np.log(risk)[:, None] + (n - x) * np.log1p(-risk)[:, None])


def power(n_per_arm: int, control_risk, treated_risk, alpha: float = ALPHA) -> np.ndarray:
    """Exact probability of success for each pair of risks (vectorised over the pairs)."""
    control_pmf = binomial_pmf(n_per_arm, control_risk)
    treated_pmf = binomial_pmf(n_per_arm, treated_risk)
    return np.einsum("di,di->d", control_pmf @ success_region(n_per_arm, alpha), treated_pmf)


def treated_risk(control_risk, log_or) -> np.ndarray:
    return expit(logit(np.asarray(control_risk, dtype=float)) + np.asarray(log_or, dtype=float))


def assurance(n_per_arm: int, control_risk, log_or, alpha: float = ALPHA) -> dict:
    """Assurance (mean power over draws) with its Monte Carlo standard error over the draws."""
    powers = power(n_per_arm, control_risk, treated_risk(control_risk, log_or), alpha)
    return {
        "n_per_arm": n_per_arm,
        "assurance": float(powers.mean()),
        "mcse": float(powers.std(ddof=1) / np.sqrt(len(powers))),
    }


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
    wins = [
        stats.fisher_exact([[t, n_per_arm - t], [c, n_per_arm - c]], alternative="less").pvalue <= alpha
        for c, t in zip(x_c, x_t, strict=False)
    ]
    return float(np.mean(wins))


def conditional_assurance(n_per_arm: int, control_risk: float, log_or, alpha: float = ALPHA) -> dict:
    """Assurance at a fixed, assumed control risk: the power averaged over the draws of the log
    odds ratio alone (the design prior's uncertainty about the effect, not the baseline)."""
    log_or = np.asarray(log_or, dtype=float)
    return assurance(n_per_arm, np.full(log_or.shape, float(control_risk)), log_or, alpha)


def effect_probabilities(log_or, important_or: float = IMPORTANT_OR) -> dict:
    """P(OR > 1) (harm), P(OR < 1) (any benefit) and P(OR < important_or) over the draws."""
    log_or = np.asarray(log_or, dtype=float)
    return {
        "p_harm": float(np.mean(log_or > 0)),
        "p_benefit": float(np.mean(log_or < 0)),
        "p_important": float(np.mean(log_or < np.log(important_or))),
    }


def absolute_effects(log_or, control_risks=CONTROL_RISKS_30, per: int = 1000, level: float = 0.95) -> pd.DataFrame:
    """Infections per ``per`` patients without and with NK cells at each assumed control risk,
    and the difference (median and central interval over the draws of the log odds ratio).

    For a fixed control risk the treated risk is increasing in the log odds ratio, so the
    quantiles of the difference are the differences at the quantiles of the log odds ratio."""
    log_or = np.asarray(log_or, dtype=float)
    tail = (1 - level) / 2
    rows = []
    for risk in control_risks:
        difference = (treated_risk(risk, log_or) - risk) * per
        low, median, high = np.quantile(difference, [tail, 0.5, 1 - tail])
        rows.append(
            {
                "control_risk": float(risk),
                "control_per": float(risk * per),
                "nk_per_median": float(risk * per + median),
                "difference_median": float(median),
                "difference_low": float(low),
                "difference_high": float(high),
            }
        )
    return pd.DataFrame(rows)


def conditional_assurance_grid(
    log_or_by_prior: dict, control_risks=CONTROL_RISKS_30, sample_sizes=REPORTED_SIZES, alpha: float = ALPHA
) -> pd.DataFrame:
    """:func:`conditional_assurance` for every design prior (name → log-OR draws), assumed
    control risk and size per arm: one row each."""
    rows = [
        {"prior": name, "control_risk": float(risk), **conditional_assurance(n, risk, log_or, alpha)}
        for name, log_or in log_or_by_prior.items()
        for risk in control_risks
        for n in sample_sizes
    ]
    return pd.DataFrame(rows)
