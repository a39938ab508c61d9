r"""The trial against an assumed control risk: which untreated risk would make 6 of 19 a benefit?

The trial has no control arm, so its BSI risk under NK cells, :math:`p`, can only be judged
against the 30-day risk its patients would have had without NK cells, the *control risk*
:math:`c`, which nobody observed. This module treats :math:`c` as known and sweeps it over a
range, so that the answer is a curve the reader can read at any control risk they find
plausible, rather than one number resting on one borrowed rate.

The trial's risk has the posterior

.. math::

    p \mid y \sim \mathrm{Beta}(y + a_0,\ n - y + b_0),

with the Jeffreys prior :math:`(a_0, b_0) = (1/2, 1/2)` (:data:`TRIAL_PRIOR`; the same
posterior whose equal-tailed quantiles are :func:`nkreport.analysis.endpoints.jeffreys`).
At a known control risk :math:`c` the implied odds ratio is

.. math::

    \psi(c) = \frac{p / (1 - p)}{c / (1 - c)},

an increasing function of :math:`p`, so its quantiles are the mapped quantiles of :math:`p`
(exactly, no simulation), and :math:`P(\psi < 1 \mid y) = P(p < c \mid y) = I_c(y + a_0,\
n - y + b_0)`, the regularised incomplete Beta function. The frequentist reading at the same
:math:`c` is the exact one-sided binomial p-value :math:`P(X \le y)`, :math:`X \sim
\mathrm{Bin}(n, c)`.

The *tipping risks* are where these readings cross a threshold: the control risk at which
:math:`P(p < c \mid y)` reaches 0.5, 0.8 or 0.95 (a Beta quantile), and the one at which the
exact test reaches :math:`p = 0.05` (a Clopper-Pearson upper bound). :func:`untreated_rates`
then puts every untreated BSI rate of the evidence base on these curves, whatever its outcome
window (30, 60, 90 days or not stated: a longer window counts more infections, so it
overstates the 30-day control risk), beside the no-borrowing two-sample comparison of the
trial with that arm (conditional odds ratio with its exact interval, Fisher and Boschloo
tests, and the posterior probability that the trial's risk is the lower one).

Nothing here says which control risk is right: the curves show how much the conclusion
depends on it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import integrate, special, stats
from scipy.stats.contingency import odds_ratio

from .endpoints import comparator_rows, comparisons_against_arms, one_sided_binomial_tests

#: Assumed 30-day BSI risks without NK cells (the control risk), 5 % to 60 % in steps of 0.5 %:
#: wide enough to hold every untreated rate of the evidence base and, for 6 of 19, the tipping
#: risks of :data:`TIPPING_LEVELS` and of the exact test (about 32 %, 41 %, 50 % and 53 %).
CONTROL_RISK_GRID = np.round(np.linspace(0.05, 0.60, 111), 4)
#: Beta prior (a0, b0) of the trial's risk: Jeffreys, Beta(1/2, 1/2), the book's convention for
#: one proportion (endpoints.jeffreys); the arms' risks in :func:`prob_trial_below_arm` get it too.
TRIAL_PRIOR = (0.5, 0.5)
#: Posterior probabilities P(p < c) whose control risk :func:`tipping_risk` reports.
TIPPING_LEVELS = (0.5, 0.8, 0.95)
#: One-sided significance level of the exact binomial test: its tipping point is
#: ``tipping_risk(events, n, 1 - TEST_ALPHA)['test_control_risk']``.
TEST_ALPHA = 0.05
#: Level of the intervals (implied odds ratio, conditional odds ratio).
INTERVAL_LEVEL = 0.95
#: Roles of the untreated arms whose rates are put on the curves.
UNTREATED_ROLES = ("external_baseline", "earlier_untreated")
#: Tolerances of the one-dimensional quadrature in :func:`prob_trial_below_arm`.
QUAD_EPSABS = 1e-13
QUAD_EPSREL = 1e-11


def _posterior_shapes(events: int, n: int, prior: tuple[float, float]) -> tuple[float, float]:
    if not 0 <= events <= n or n < 1:
        raise ValueError(f"need 0 <= events <= n and n >= 1, got {events} of {n}")
    a0, b0 = prior
    if a0 <= 0 or b0 <= 0:
        raise ValueError(f"the Beta prior's shapes must be positive, got {prior}")
    return events + a0, n - events + b0


def _odds(p):
    p = np.asarray(p, dtype=float)
    return p / (1.0 - p)


def implied_effect_curve(
    events: int,
    n: int,
    control_risks=CONTROL_RISK_GRID,
    prior: tuple[float, float] = TRIAL_PRIOR,
    level: float = INTERVAL_LEVEL,
) -> pd.DataFrame:
    r"""The trial's implied effect at each assumed (known) control risk.

    Parameters
    ----------
    events, n
        The trial's count: ``events`` patients with the outcome of ``n``.
    control_risks
        Assumed control risks :math:`c`, each in (0, 1).
    prior
        Shapes :math:`(a_0, b_0)` of the Beta prior of the trial's risk :math:`p`.
    level
        Level of the equal-tailed interval of the odds ratio.

    Returns
    -------
    pandas.DataFrame
        One row per control risk, in the order given: ``control_risk``; the trial's posterior
        risk ``risk_median``, ``risk_low``, ``risk_high`` (the same on every row); the implied
        odds ratio ``or_median``, ``or_low``, ``or_high``; ``p_below_control``
        :math:`= P(p < c \mid y) = P(\psi < 1 \mid y)`; ``p_value_lower``, the exact one-sided
        binomial p-value; and ``events``, ``n``, ``level``.

    Notes
    -----
    With :math:`p \mid y \sim \mathrm{Beta}(a, b)`, :math:`a = y + a_0`, :math:`b = n - y + b_0`,
    and :math:`Q_p` its quantile function, the implied odds ratio
    :math:`\psi = \mathrm{odds}(p) / \mathrm{odds}(c)` increases with :math:`p`, so

    .. math::

        Q_\psi(u) = \frac{\mathrm{odds}(Q_p(u))}{\mathrm{odds}(c)}, \qquad
        P(p < c \mid y) = I_c(a, b),

    with the median at :math:`u = 1/2` and the interval at :math:`u = (1 \mp \text{level})/2`.
    The p-value is :math:`P(X \le y) = \sum_{x=0}^{y} \binom{n}{x} c^x (1 - c)^{n - x}` for
    :math:`X \sim \mathrm{Bin}(n, c)` (:func:`scipy.stats.binomtest`, ``alternative='less'``),
    which treats :math:`c` as known, as a single-arm trial judged against a fixed rate does.
    """
    a, b = _posterior_shapes(events, n, prior)
    risks = np.atleast_1d(np.asarray(control_risks, dtype=float))
    if np.any((risks <= 0) | (risks >= 1)):
        raise ValueError("every control risk must lie strictly between 0 and 1")
    tail = (1.0 - level) / 2.0
    low, median, high = stats.beta.ppf([tail, 0.5, 1.0 - tail], a, b)
    control_odds = _odds(risks)
    return pd.DataFrame(
        {
            "control_risk": risks,
            "risk_median": median,
            "risk_low": low,
            "risk_high": high,
            "or_median": _odds(median) / control_odds,
            "or_low": _odds(low) / control_odds,
            "or_high": _odds(high) / control_odds,
            "p_below_control": stats.beta.cdf(risks, a, b),
            "p_value_lower": [one_sided_binomial_tests(events, n, float(c))["p_lower"] for c in risks],
            "events": events,
            "n": n,
            "level": level,
        }
    )


def tipping_risk(events: int, n: int, level: float, *, prior: tuple[float, float] = TRIAL_PRIOR) -> dict[str, float]:
    r"""The control risks at which the trial starts to show a benefit with confidence ``level``.

    Parameters
    ----------
    events, n
        The trial's count.
    level
        The threshold, in (0, 1): e.g. 0.5, 0.8 or 0.95 (:data:`TIPPING_LEVELS`).
    prior
        Shapes :math:`(a_0, b_0)` of the Beta prior of the trial's risk.

    Returns
    -------
    dict
        ``level``; ``control_risk``, the :math:`c` at which :math:`P(p < c \mid y) = ` ``level``;
        ``alpha`` :math:`= 1 -` ``level``; ``test_control_risk``, the :math:`c` at which the
        exact one-sided binomial p-value equals ``alpha`` (NaN when ``events == n``: the p-value
        is then 1 at every :math:`c`). At ``level = 0.95`` the latter is the point where the
        test reaches :math:`p = 0.05`. Any control risk above these values gives a larger
        probability (a smaller p-value).

    Notes
    -----
    :math:`P(p < c \mid y) = I_c(a, b)` increases in :math:`c`, so the crossing is the Beta
    quantile :math:`c_\text{level} = Q_{\mathrm{Beta}(a, b)}(\text{level})`,
    :math:`a = y + a_0`, :math:`b = n - y + b_0`. The p-value is
    :math:`P(X \le y) = 1 - I_c(y + 1, n - y)` (the binomial-Beta identity), decreasing in
    :math:`c`; it equals :math:`\alpha` at :math:`c_\alpha = Q_{\mathrm{Beta}(y + 1, n - y)}(1 - \alpha)`,
    the one-sided :math:`1 - \alpha` Clopper-Pearson upper bound of the trial's risk. Since the
    Jeffreys posterior lies between the two Clopper-Pearson Betas, :math:`c_\text{level} <
    c_\alpha` for :math:`\alpha = 1 - \text{level}`: the test asks for a higher control risk.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    a, b = _posterior_shapes(events, n, prior)
    alpha = 1.0 - level
    test_risk = float("nan") if events == n else float(stats.beta.ppf(level, events + 1, n - events))
    return {
        "level": level,
        "control_risk": float(stats.beta.ppf(level, a, b)),
        "alpha": alpha,
        "test_control_risk": test_risk,
    }


def tipping_risks(
    events: int, n: int, levels=TIPPING_LEVELS, *, prior: tuple[float, float] = TRIAL_PRIOR
) -> pd.DataFrame:
    """:func:`tipping_risk` at each of ``levels``: one row per level."""
    return pd.DataFrame([tipping_risk(events, n, float(level), prior=prior) for level in levels])


def prob_trial_below_arm(
    events: int,
    n: int,
    arm_events: int,
    arm_n: int,
    prior: tuple[float, float] = TRIAL_PRIOR,
) -> float:
    r"""Posterior probability that the trial's risk is below an untreated arm's, with no borrowing.

    Parameters
    ----------
    events, n
        The trial's count.
    arm_events, arm_n
        The untreated arm's count.
    prior
        Shapes of the Beta prior given to each risk independently (Jeffreys by default).

    Returns
    -------
    float
        :math:`P(p_1 < p_2 \mid y_1, y_2)`, accurate to about 1e-10.

    Notes
    -----
    With independent posteriors :math:`p_1 \sim \mathrm{Beta}(a_1, b_1)` (trial) and
    :math:`p_2 \sim \mathrm{Beta}(a_2, b_2)` (arm),

    .. math::

        P(p_1 < p_2) = \int_0^1 f_2(x)\, I_x(a_1, b_1)\, dx
        = \int_{-\infty}^{\infty} \frac{x^{a_2} (1 - x)^{b_2}}{B(a_2, b_2)}\, I_x(a_1, b_1)\, dt,
        \qquad x = \operatorname{expit}(t).

    On the logit scale the integrand is bounded and smooth even when a shape is below 1 (no
    events, or only events: the density is then infinite at 0 or 1), and its tails decay
    exponentially. It is integrated by adaptive Gauss-Kronrod quadrature (QUADPACK) in three
    pieces: the two tails beyond the 1e-6 and 1 - 1e-6 quantiles of both posteriors, and the
    middle with break points at quantiles of both, so that a narrow posterior (a large arm) is
    not stepped over.
    """
    a1, b1 = _posterior_shapes(events, n, prior)
    a2, b2 = _posterior_shapes(arm_events, arm_n, prior)
    log_norm = special.betaln(a2, b2)

    def integrand(t: float) -> float:
        log_x, log_1mx = -np.logaddexp(0.0, -t), -np.logaddexp(0.0, t)
        return float(np.exp(a2 * log_x + b2 * log_1mx - log_norm) * stats.beta.cdf(special.expit(t), a1, b1))

    probs = np.array([1e-6, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-4, 1 - 1e-6])
    quantiles = np.concatenate([stats.beta.ppf(probs, a1, b1), stats.beta.ppf(probs, a2, b2)])
    points = np.unique(special.logit(np.clip(quantiles, 1e-300, 1 - 1e-16)))
    options = dict(epsabs=QUAD_EPSABS, epsrel=QUAD_EPSREL, limit=500)
    low, high = float(points[0]), float(points[-1])
    value = (
        integrate.quad(integrand, -np.inf, low, **options)[0] + integrate.quad(integrand, high, np.inf, **options)[0]
    )
    if high > low:
        inner = points[1:-1] if points.size > 2 else None
        value += integrate.quad(integrand, low, high, points=inner, **options)[0]
    return float(min(max(value, 0.0), 1.0))


def conditional_odds_ratio(
    events: int, n: int, arm_events: int, arm_n: int, level: float = INTERVAL_LEVEL
) -> dict[str, float]:
    r"""Conditional maximum-likelihood odds ratio of the trial against an arm, with its exact CI.

    Returns
    -------
    dict
        ``or_conditional`` (the trial's odds over the arm's), ``or_conditional_low`` and
        ``or_conditional_high`` (:func:`scipy.stats.contingency.odds_ratio`, ``kind='conditional'``).

    Notes
    -----
    Given all margins of the 2 x 2 table, the trial's count :math:`X` follows Fisher's noncentral
    hypergeometric distribution,

    .. math::

        P(X = x \mid \psi) = \frac{\binom{n_1}{x} \binom{n_2}{m - x} \psi^x}
        {\sum_u \binom{n_1}{u} \binom{n_2}{m - u} \psi^u}, \qquad m = y_1 + y_2;

    the estimate maximises :math:`P(X = y_1 \mid \psi)`, and the exact (Cornfield) interval
    solves :math:`P(X \ge y_1 \mid \psi_L) = P(X \le y_1 \mid \psi_U) = (1 - \text{level})/2`.
    It conditions on the total number of events, so it needs no prior and ignores nothing but
    the margins; the arm's rate is not treated as known.
    """
    table = np.array([[events, arm_events], [n - events, arm_n - arm_events]])
    result = odds_ratio(table, kind="conditional")
    interval = result.confidence_interval(confidence_level=level, alternative="two-sided")
    return {
        "or_conditional": float(result.statistic),
        "or_conditional_low": float(interval.low),
        "or_conditional_high": float(interval.high),
    }


def _short_name(study: str) -> str:
    """The study's name without its parenthesised details or its 'LDLT ...' description."""
    return re.split(r" \(| LDLT\b", study, maxsplit=1)[0].strip() or study


def _window_label(window) -> str:
    return "window not stated" if pd.isna(window) else f"{int(window)} d"


def _trial_row(cohorts: pd.DataFrame, outcome: str) -> pd.Series:
    rows = cohorts[(cohorts["role"] == "trial") & (cohorts["outcome"] == outcome)]
    if len(rows) != 1:
        raise ValueError(f"expected one trial row for outcome {outcome!r}, found {len(rows)}")
    return rows.iloc[0]


def untreated_rates(
    cohorts: pd.DataFrame,
    outcome: str = "bsi",
    *,
    prior: tuple[float, float] = TRIAL_PRIOR,
    level: float = INTERVAL_LEVEL,
) -> pd.DataFrame:
    r"""Every untreated rate of ``outcome`` in the evidence base, and where the trial stands on it.

    Parameters
    ----------
    cohorts
        The cohort table (:func:`nkreport.data.load_cohorts`); its one ``trial`` row of
        ``outcome`` is the trial.
    outcome
        The outcome.
    prior, level
        As in :func:`implied_effect_curve`.

    Returns
    -------
    pandas.DataFrame
        One row per ``external_baseline`` or ``earlier_untreated`` row of ``outcome``, highest
        rate first (:func:`nkreport.analysis.endpoints.comparator_rows`), with

        * the columns of :func:`nkreport.analysis.endpoints.comparisons_against_arms`: the arm
          (``cohort_id``, ``comparator``, ``role``, ``comparator_events``, ``comparator_n``,
          ``comparator_rate``, ``window_days`` — nullable, NA when the window is not stated —
          ``verified``) and the two-sample comparison (risk difference with Newcombe CI,
          Fisher and Boschloo p-values);
        * ``short_name``, ``window_label`` ("30 d", "window not stated") and ``label``
          ("Lee 2019, 30 d") for display;
        * the trial's curves at :math:`c =` the arm's rate, the rate taken as known:
          ``or_median``, ``or_low``, ``or_high``, ``p_below_control`` and ``p_value_lower``
          (:func:`implied_effect_curve`);
        * the no-borrowing reading, the arm's own uncertainty included: ``or_conditional``,
          ``or_conditional_low``, ``or_conditional_high`` (:func:`conditional_odds_ratio`)
          and ``p_trial_below_arm`` (:func:`prob_trial_below_arm`);
        * ``trial_events``, ``trial_n``, ``trial_window_days``.

    Notes
    -----
    A rate over a window longer than the trial's 30 days counts infections after day 30 too, so
    it is an upper bound of the 30-day control risk of a like population; a rate without a
    stated window can be either.
    """
    trial = _trial_row(cohorts, outcome)
    events, n = int(trial["events"]), int(trial["n"])
    arms = comparator_rows(cohorts, outcome, UNTREATED_ROLES)
    if arms.empty:
        raise ValueError(f"no untreated rows (roles {UNTREATED_ROLES}) for outcome {outcome!r}")
    table = comparisons_against_arms(events, n, arms, level)
    table.insert(3, "short_name", [_short_name(s) for s in table["comparator"]])
    table.insert(4, "window_label", [_window_label(w) for w in table["window_days"]])
    table.insert(5, "label", [f"{s}, {w}" for s, w in zip(table["short_name"], table["window_label"], strict=True)])
    curve = implied_effect_curve(events, n, table["comparator_rate"].to_numpy(dtype=float), prior, level)
    for column in ("or_median", "or_low", "or_high", "p_below_control", "p_value_lower"):
        table[column] = curve[column].to_numpy()
    counts = list(zip(table["comparator_events"], table["comparator_n"], strict=True))
    conditional = pd.DataFrame([conditional_odds_ratio(events, n, int(e), int(m), level) for e, m in counts])
    for column in conditional.columns:
        table[column] = conditional[column].to_numpy()
    table["p_trial_below_arm"] = [prob_trial_below_arm(events, n, int(e), int(m), prior) for e, m in counts]
    table["trial_events"] = events
    table["trial_n"] = n
    window = trial["window_days"]
    table["trial_window_days"] = pd.array([pd.NA if pd.isna(window) else int(window)] * len(table), dtype="Int64")
    return table
