"""Exact and approximate inference for binomial endpoints.

Intervals for one proportion (Clopper-Pearson, Wilson, Jeffreys, mid-p), exact one-sided tests
of the trial's rate against an external rate, exact two-sample comparisons (Fisher, Boschloo)
with Newcombe intervals for the risk difference, and the upper bound for zero events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


#: Interval methods shown in the book, with their display labels.
INTERVAL_METHODS = {
    "clopper_pearson": "Clopper-Pearson (exact)",
    "mid_p": "mid-p",
    "wilson": "Wilson score",
    "jeffreys": "Jeffreys",
}


def clopper_pearson(events, n, level: float = 0.95):
    """Exact (Clopper-Pearson) two-sided interval; vectorised over arrays of counts."""
    low, high = proportion_confint(np.asarray(events), np.asarray(n), alpha=1 - level, method="beta")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def wilson(events: int, n: int, level: float = 0.95) -> Interval:
    """Wilson score interval (statsmodels)."""
    low, high = proportion_confint(events, n, alpha=1 - level, method="wilson")
    return Interval(float(low), float(high))


def jeffreys(events: int, n: int, level: float = 0.95) -> Interval:
    """Jeffreys interval: equal-tailed Beta(events + 1/2, n - events + 1/2) quantiles (statsmodels)."""
    low, high = proportion_confint(events, n, alpha=1 - level, method="jeffreys")
    return Interval(float(low), float(high))


def _mid_p_tail(p: float, events: int, n: int, upper: bool) -> float:
    """P(X > k) + P(X = k)/2 (upper) or P(X < k) + P(X = k)/2 (lower) for X ~ Bin(n, p)."""
    half_point = 0.5 * stats.binom.pmf(events, n, p)
    if upper:
        return stats.binom.sf(events, n, p) + half_point
    return stats.binom.cdf(events - 1, n, p) + half_point


def mid_p(events: int, n: int, level: float = 0.95) -> Interval:
    """Mid-p exact interval, each limit found by root finding (scipy ``brentq``)."""
    tail = (1 - level) / 2
    low = (
        0.0
        if events == 0
        else optimize.brentq(lambda p: _mid_p_tail(p, events, n, upper=True) - tail, 1e-12, 1 - 1e-12, xtol=1e-12)
    )
    high = (
        1.0
        if events == n
        else optimize.brentq(lambda p: _mid_p_tail(p, events, n, upper=False) - tail, 1e-12, 1 - 1e-12, xtol=1e-12)
    )
    return Interval(float(low), float(high))


def binomial_intervals(events: int, n: int, level: float = 0.95) -> pd.DataFrame:
    """One row per interval method: method, label, estimate, low, high, width."""
    cp_low, cp_high = clopper_pearson(events, n, level)
    intervals = {
        "clopper_pearson": Interval(float(cp_low), float(cp_high)),
        "mid_p": mid_p(events, n, level),
        "wilson": wilson(events, n, level),
        "jeffreys": jeffreys(events, n, level),
    }
    return pd.DataFrame(
        [
            {
                "method": method,
                "label": INTERVAL_METHODS[method],
                "events": events,
                "n": n,
                "estimate": events / n,
                "low": iv.low,
                "high": iv.high,
                "width": iv.high - iv.low,
            }
            for method, iv in intervals.items()
        ]
    )


def one_sided_binomial_tests(events: int, n: int, rate: float) -> dict[str, float]:
    """Exact one-sided binomial p-values of ``events``/``n`` against a fixed ``rate``.

    ``p_lower``: evidence that the true rate is below ``rate`` (the hoped-for effect);
    ``p_higher``: evidence that it is above.
    """
    return {
        "p_lower": float(stats.binomtest(events, n, rate, alternative="less").pvalue),
        "p_higher": float(stats.binomtest(events, n, rate, alternative="greater").pvalue),
    }


def _comparator_columns(row) -> dict:
    window = row.window_days
    return {
        "cohort_id": row.cohort_id,
        "comparator": row.study,
        "role": row.role,
        "comparator_events": int(row.events),
        "comparator_n": int(row.n),
        "comparator_rate": row.events / row.n,
        "window_days": pd.NA if pd.isna(window) else int(window),
        "verified": row.verified,
    }


def _comparator_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype({"window_days": "Int64"})


def tests_against_rates(events: int, n: int, comparators: pd.DataFrame) -> pd.DataFrame:
    """Exact one-sided binomial tests of the trial's count against each comparator's rate.

    Each comparator's rate is treated as known (its sampling error is ignored), as in a
    single-arm trial judged against a historical rate.
    """
    rows = []
    for row in comparators.itertuples():
        record = _comparator_columns(row)
        record.update(one_sided_binomial_tests(events, n, row.events / row.n))
        rows.append(record)
    return _comparator_frame(rows)


def two_sample_comparison(
    events: int, n: int, control_events: int, control_n: int, level: float = 0.95
) -> dict[str, float]:
    """Trial against a control arm: risk difference with Newcombe CI, Fisher and Boschloo tests.

    ``*_lower`` p-values are one-sided for a lower event rate in the trial than in the control.
    """
    # columns are the two samples (scipy's convention for Barnard and Boschloo)
    table = np.array([[events, control_events], [n - events, control_n - control_events]])
    low, high = confint_proportions_2indep(
        events, n, control_events, control_n, method="newcomb", compare="diff", alpha=1 - level
    )
    return {
        "risk_difference": events / n - control_events / control_n,
        "rd_low": float(low),
        "rd_high": float(high),
        "fisher_p": float(stats.fisher_exact(table, alternative="two-sided").pvalue),
        "fisher_p_lower": float(stats.fisher_exact(table, alternative="less").pvalue),
        "boschloo_p": float(stats.boschloo_exact(table, alternative="two-sided").pvalue),
        "boschloo_p_lower": float(stats.boschloo_exact(table, alternative="less").pvalue),
    }


def comparisons_against_arms(events: int, n: int, controls: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Exact two-sample comparisons of the trial against each control arm (one row each)."""
    rows = []
    for row in controls.itertuples():
        record = _comparator_columns(row)
        record.update(two_sample_comparison(events, n, int(row.events), int(row.n), level))
        rows.append(record)
    return _comparator_frame(rows)


def zero_event_upper_bound(n: int, level: float = 0.95) -> dict[str, float]:
    """Exact one-sided upper confidence bound for 0 events in ``n`` beside the rule of three.

    The exact bound is the Clopper-Pearson one-sided limit, the ``level`` quantile of
    Beta(1, n); the rule of three, 3/n, approximates the 95 % bound (-ln 0.05 = 2.996).
    """
    return {"n": n, "level": level, "exact_upper": float(stats.beta.ppf(level, 1, n)), "rule_of_three": 3 / n}


def comparator_rows(
    cohorts: pd.DataFrame, outcome: str, roles: tuple[str, ...] = ("external_baseline", "earlier_untreated")
) -> pd.DataFrame:
    """The cohort rows of ``outcome`` with a comparator role, highest rate first."""
    rows = cohorts[(cohorts["outcome"] == outcome) & cohorts["role"].isin(roles)].copy()
    rows["rate"] = rows["events"] / rows["n"]
    return rows.sort_values("rate", ascending=False).drop(columns="rate").reset_index(drop=True)
