"""Exact and approximate inference for binomial endpoints."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from statsmodels.stats.proportion import proportion_confint


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def clopper_pearson(events, n, level: float = 0.95):
    """Exact (Clopper-Pearson) two-sided interval; vectorised over arrays of counts."""
    low, high = proportion_confint(np.asarray(events), np.asarray(n), alpha=1 - level, method="beta")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)
