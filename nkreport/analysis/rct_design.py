r"""The next trial as a trial statistician would design it: two arms, with a control arm that
borrows from the earlier untreated arms through the robust MAP prior.

The trial randomises ``n_nk`` patients to NK cells and ``n_control`` to control, and counts
BSI within 30 days in each arm (``x_nk`` and ``x_control`` events). Each arm has its own Beta
mixture prior: the control arm the robust MAP prior of the earlier untreated arms (passed
in, e.g. ``priors.robustify(map_prior.mixture, priors.ROBUST_WEIGHT)``), the NK arm the weakly
informative :data:`NK_PRIOR`. After the trial each prior is updated conjugately
(:meth:`nkreport.analysis.priors.BetaMixture.posterior`), and the trial is a **success** if

.. math::

    \Pr(p_{nk} - p_{control} < \delta \mid x_{nk}, x_{control}) > p_c,

with :math:`p_c` = :data:`SUCCESS_PROBABILITY` and :math:`\delta` =
:data:`RISK_DIFFERENCE_THRESHOLD`: RBesT's ``decision2S(pc = 0.975, qc = 0, lower.tail = TRUE)``
(Weber et al. 2021), the Bayesian counterpart of the one-sided Fisher test at 0.025 in
:mod:`nkreport.analysis.assurance`. With the borrowing the control arm can be smaller than the
NK arm by about the prior's effective sample size (:func:`prior_ess`,
:func:`balanced_control_size`).

**The difference of two Beta mixtures.** For independent posteriors with densities
:math:`f_{nk}, f_c` and distribution functions :math:`F_{nk}, F_c`,

.. math::

    \Pr(p_{nk} - p_c < \delta) = \int_0^1 f_c(y)\, F_{nk}(y + \delta)\, dy
                               = \int_{-\infty}^{\infty} g_c(t)\, F_{nk}(\operatorname{expit}(t) + \delta)\, dt,

on the logit scale :math:`t = \log(y / (1 - y))`, where a Beta(a, b) component has the bounded
density :math:`g(t) = y^a (1 - y)^b / B(a, b)` (no singularity at 0 or 1 whatever a and b), mean
:math:`\psi(a) - \psi(b)` and variance :math:`\psi_1(a) + \psi_1(b)` (digamma and trigamma). The
integral is a composite Gauss-Legendre rule (:data:`NODES_PER_PANEL` nodes a panel) on panels no
wider than :data:`PANEL_WIDTH_IN_SD` logit standard deviations of any component within
:data:`FINE_WINDOW_IN_SD` of its mean, and no wider than :data:`MAX_PANEL_WIDTH` elsewhere (where
each component's log density is nearly linear: exponential tails). The range is cut where
each control component leaves less than :data:`TAIL_MASS` outside: the bound
:math:`\Pr(Y < y_0) \le 2 y_0^a / (a B(a, b))` (for :math:`y_0 \le 1/2`) gives the cut in closed
form. For :math:`\delta \ne 0` the NK distribution function is shifted off its logit scale: its
transitions are resolved by panels sized by its standard deviation on the risk scale, and the
point where :math:`y + \delta` leaves [0, 1] (a kink) is approached by geometrically graded
panels. The result is accurate to about 1e-12 (the tests hold it to 1e-10 against the exact
finite sum for integer shapes).

**Every outcome at once.** With :math:`\delta = 0` the decision for all
:math:`(n_{control} + 1)(n_{nk} + 1)` outcome tables is one matrix product on one grid that
resolves every posterior of both arms,

.. math::

    D[x_c, x_{nk}] = \sum_m w_m\, g_c(t_m \mid x_c)\, F_{nk}(t_m \mid x_{nk}),

where the NK distribution functions at the nodes are cumulative integrals of the NK densities
on the same panels (the integration matrix of the Lagrange basis on the Gauss-Legendre nodes),
so the whole design needs only densities: no incomplete Beta functions. The posterior of
:math:`p_{nk}` is stochastically increasing in :math:`x_{nk}` (the binomial likelihood has a
monotone likelihood ratio, whatever the prior), so :math:`D` decreases in :math:`x_{nk}` and
increases in :math:`x_c`: the success region is :math:`\{x_{nk} \le c(x_c)\}` with a
non-decreasing critical value :math:`c`, RBesT's ``decision2S_boundary``
(:func:`critical_values`). RBesT finds :math:`c` by root finding; here the full matrix costs
one product and the critical values are read off it.

**Operating characteristics and assurance.** The probability of success at true risks
:math:`(p_c, p_{nk})` is the exact sum
:math:`\sum_{x_c, x_{nk}} \mathrm{Bin}(x_c; n_c, p_c)\, \mathrm{Bin}(x_{nk}; n_{nk}, p_{nk})\, 1[\text{success}]`
(RBesT ``oc2S``); at OR = 1 it is the type I error, which with an informative control prior
depends on the true control risk (inflated where the prior claims too high a risk, deflated
where it claims too low a one; robustification bounds both). The assurance averages it over
design-prior draws of ``(control_risk, log_or)`` (RBesT ``pos2S`` with a sample for the
design prior), with the Monte Carlo standard error of the draws, as
:func:`nkreport.analysis.assurance.assurance` does for the Fisher test.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.polynomial import legendre
from scipy import special

from nkreport.analysis import assurance as fisher_design
from nkreport.analysis import priors
from nkreport.analysis.assurance import binomial_pmf, treated_risk
from nkreport.analysis.priors import BetaMixture

# --------------------------------------------------------------------------- the decision rule

#: Success when the posterior probability that the risk difference (NK minus control) lies
#: below :data:`RISK_DIFFERENCE_THRESHOLD` exceeds this (RBesT ``decision2S`` ``pc``; one-sided,
#: as the Fisher test at ``assurance.ALPHA = 0.025``).
SUCCESS_PROBABILITY = 0.975
#: The risk difference p_nk - p_control must lie below this (RBesT ``qc``): any reduction.
RISK_DIFFERENCE_THRESHOLD = 0.0
#: Prior of the BSI risk with NK cells: uniform, Beta(1, 1). The NK arm is judged on its own
#: patients (the single-arm trial is what the new trial is to confirm, so it is not borrowed);
#: the uniform is the vague component of the robust MAP prior (``priors.ROBUST_COMPONENT``), so
#: with no borrowing (robust weight 1) both arms have the same prior and the decision is
#: symmetric; it carries the information of 2 patients (a + b), negligible beside the arms
#: considered (``priors.ess_elir`` gives 0 for shapes of exactly 1).
#: RBesT's binary example uses Beta(0.5, 1) for the treatment arm; a shape below 1 has an
#: unbounded density at 0 and an infinite ELIR ESS (``priors.ess_elir`` gives NaN), hence not here.
NK_PRIOR = BetaMixture.beta(1.0, 1.0, "uniform Beta(1, 1)")
#: ESS method by which the borrowing is stated (``priors.ess``): ELIR, Neuenschwander et al. 2020.
ESS_METHOD = "elir"
#: Patients on NK cells in the design the book reports (the control arm is this minus the
#: robust MAP prior's effective sample size, :func:`balanced_control_size`).
REFERENCE_N_NK = 100
#: The alternative and the control risk at which the book quotes the design's power.
REFERENCE_OR = 0.5
REFERENCE_CONTROL_RISK = 0.15
#: True control risks of the operating characteristics (5 % to 60 %) ...
CONTROL_RISK_GRID = np.round(np.arange(0.05, 0.6001, 0.025), 3)
#: ... and true odds ratios NK vs control (1: the type I error).
ODDS_RATIO_GRID = (1.0, 0.75, 0.5, 0.33)

# --------------------------------------------------------------------------- the quadrature

#: Gauss-Legendre nodes per panel of the composite rule on the logit scale.
NODES_PER_PANEL = 16
#: Largest panel width, in logit standard deviations of any component whose window it meets.
PANEL_WIDTH_IN_SD = 1.0
#: Half-width (in its logit standard deviations) of the window about a component's mean where
#: its panels are sized by its standard deviation.
FINE_WINDOW_IN_SD = 10.0
#: Half-width (in risk-scale standard deviations) of the window of a shifted NK component
#: (delta != 0): its distribution function is within about exp(-35) of 0 or 1 beyond it even for
#: the exponential tail of a Beta(1, b).
SHIFTED_WINDOW_IN_SD = 35.0
#: Largest panel width anywhere (logit scale); beyond the windows the log densities are close to
#: linear in the logit.
MAX_PANEL_WIDTH = 1.0
#: Probability mass of a control component left outside the integration range (each side).
TAIL_MASS = 1e-14
#: The integration range never extends beyond logit +-700 (exp(-700) underflows to 0 anyway).
LOGIT_LIMIT = 700.0
#: Geometric grading of the panels next to the kink where y + delta leaves [0, 1]: widths
#: MAX_PANEL_WIDTH * ratio**k, k = 0..levels.
KINK_GRADING_RATIO = 0.15
KINK_GRADING_LEVELS = 16

_GL_NODES, _GL_WEIGHTS = legendre.leggauss(NODES_PER_PANEL)


def _partial_integration_matrix(nodes: np.ndarray) -> np.ndarray:
    """``S[i, j] = ∫_{-1}^{nodes[i]} l_j(s) ds`` for the Lagrange basis ``l_j`` on ``nodes``: the
    integrals from the panel's left end to each node of the interpolating polynomial."""
    size = nodes.size
    coefficients = np.linalg.inv(legendre.legvander(nodes, size - 1))  # column j: Legendre series of l_j
    return legendre.legvander(nodes, size) @ legendre.legint(coefficients, lbnd=-1, axis=0)


_GL_PARTIAL = _partial_integration_matrix(_GL_NODES)


@dataclass(frozen=True)
class _Grid:
    nodes: np.ndarray  # logit-scale nodes, panel by panel
    weights: np.ndarray  # quadrature weights (including the half-widths)
    half_widths: np.ndarray  # one per panel


def _logit_moments(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of logit(Y) for Y ~ Beta(a, b)."""
    return special.digamma(a) - special.digamma(b), np.sqrt(special.polygamma(1, a) + special.polygamma(1, b))


def _tail_cuts(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Logits below and above which Beta(a, b) has at most :data:`TAIL_MASS`: from
    P(Y < y0) <= 2 y0^a / (a B(a, b)) for y0 <= 1/2 (and the same for 1 - Y)."""
    log_scale = special.betaln(a, b) + np.log(TAIL_MASS / 2)
    log_low = np.minimum((log_scale + np.log(a)) / a, np.log(0.5))  # log y0
    log_high = np.minimum((log_scale + np.log(b)) / b, np.log(0.5))  # log (1 - y1)
    low = log_low - np.log1p(-np.exp(log_low))
    high = -(log_high - np.log1p(-np.exp(log_high)))
    return np.maximum(low, -LOGIT_LIMIT), np.minimum(high, LOGIT_LIMIT)


def _panel_edges(low, high, windows, shifted=None) -> np.ndarray:
    """Walk from ``low`` to ``high``; each panel is as wide as the narrowest window met by the
    next :data:`MAX_PANEL_WIDTH` allows. ``windows``: (low, high, width) arrays on the logit
    scale; ``shifted``: (low, high, risk-scale sd) arrays, whose width at logit t is
    PANEL_WIDTH_IN_SD * sd / (y (1 - y)) (the logit scale stretches the risk scale by 1/(y(1-y)))."""
    window_low, window_high, window_width = windows
    edges = [low]
    t = low
    while t < high:
        ahead = t + MAX_PANEL_WIDTH
        width = MAX_PANEL_WIDTH
        met = (window_low < ahead) & (window_high > t)
        if met.any():
            width = min(width, float(window_width[met].min()))
        if shifted is not None:
            met = (shifted[0] < ahead) & (shifted[1] > t)
            if met.any():
                # the largest y (1 - y) over [t, ahead]: 1/4 if the interval contains y = 1/2
                ends = special.expit(np.array([t, ahead])) * special.expit(-np.array([t, ahead]))
                stretch = 0.25 if t <= 0.0 <= ahead else float(ends.max())
                width = min(width, PANEL_WIDTH_IN_SD * float(shifted[2][met].min()) / stretch)
        t = min(t + width, high)
        edges.append(t)
    return np.asarray(edges)


def _grid(control_a, control_b, nk_a, nk_b, delta: float, cover_nk: bool) -> _Grid:
    """The composite Gauss-Legendre grid for P(p_nk - p_control < delta) for the components
    (flat arrays of shapes) of the control and NK posteriors. ``cover_nk``: extend the range
    over the NK components' own tails (needed when their distribution functions are integrated
    on the grid)."""
    control_a, control_b = np.ravel(control_a), np.ravel(control_b)
    nk_a, nk_b = np.ravel(nk_a), np.ravel(nk_b)
    low_cut, high_cut = _tail_cuts(control_a, control_b)
    low, high = float(low_cut.min()), float(high_cut.max())
    mean, sd = _logit_moments(control_a, control_b)
    shifted = None
    if delta == 0:
        nk_mean, nk_sd = _logit_moments(nk_a, nk_b)
        mean, sd = np.concatenate([mean, nk_mean]), np.concatenate([sd, nk_sd])
    else:
        total = nk_a + nk_b
        nk_risk_mean, nk_risk_sd = nk_a / total, np.sqrt(nk_a * nk_b / (total**2 * (total + 1)))
        y_low = np.clip(nk_risk_mean - SHIFTED_WINDOW_IN_SD * nk_risk_sd - delta, 0.0, 1.0)
        y_high = np.clip(nk_risk_mean + SHIFTED_WINDOW_IN_SD * nk_risk_sd - delta, 0.0, 1.0)
        kept = y_high > y_low
        with np.errstate(divide="ignore"):
            shifted = (special.logit(y_low[kept]), special.logit(y_high[kept]), nk_risk_sd[kept])
    if cover_nk:
        nk_low, nk_high = _tail_cuts(nk_a, nk_b)
        low, high = min(low, float(nk_low.min())), max(high, float(nk_high.max()))
    windows = (mean - FINE_WINDOW_IN_SD * sd, mean + FINE_WINDOW_IN_SD * sd, PANEL_WIDTH_IN_SD * sd)
    edges = _panel_edges(low, high, windows, shifted)
    if delta != 0:
        # the kink where y + delta reaches 0 (delta < 0) or 1 (delta > 0): graded panels beside it
        grading = MAX_PANEL_WIDTH * KINK_GRADING_RATIO ** np.arange(KINK_GRADING_LEVELS + 1)
        kink = float(special.logit(-delta)) if delta < 0 else float(special.logit(1 - delta))
        extra = np.concatenate([[kink], kink + grading if delta < 0 else kink - grading])
        edges = np.unique(np.concatenate([edges, extra[(extra > low) & (extra < high)]]))
    half = np.diff(edges) / 2
    middle = edges[:-1] + half
    nodes = (middle[:, None] + half[:, None] * _GL_NODES).ravel()
    weights = (half[:, None] * _GL_WEIGHTS).ravel()
    return _Grid(nodes, weights, half)


def _logit_density(nodes: np.ndarray, weights, a, b) -> np.ndarray:
    """``[row, node]`` densities of logit(p) for mixtures given row by row (``weights``, ``a``,
    ``b`` of shape [row, component]): sum_k w_k y^a_k (1 - y)^b_k / B(a_k, b_k) at y = expit(t)."""
    weights, a, b = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (weights, a, b))
    log_y, log_1my = special.log_expit(nodes), special.log_expit(-nodes)
    with np.errstate(divide="ignore"):
        log_scale = np.log(weights) - special.betaln(a, b)
    log_component = a[..., None] * log_y + b[..., None] * log_1my + log_scale[..., None]
    return np.exp(log_component).sum(axis=1)


def _cumulative(density: np.ndarray, grid: _Grid) -> np.ndarray:
    """Integrals of each row of ``density`` from the grid's lower end to every node: whole
    panels by Gauss-Legendre, the part of a panel up to a node by the partial integration matrix."""
    rows, panels = density.shape[0], grid.half_widths.size
    by_panel = density.reshape(rows, panels, NODES_PER_PANEL)
    masses = (by_panel @ _GL_WEIGHTS) * grid.half_widths
    before = np.cumsum(masses, axis=1) - masses
    within = (by_panel @ _GL_PARTIAL.T) * grid.half_widths[:, None]
    return (before[..., None] + within).reshape(rows, -1)


def _stack(mixtures: list[BetaMixture]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([m.weights for m in mixtures]),
        np.array([m.a for m in mixtures]),
        np.array([m.b for m in mixtures]),
    )


def prob_difference_below(
    post_nk: BetaMixture, post_control: BetaMixture, delta: float = RISK_DIFFERENCE_THRESHOLD
) -> float:
    r"""P(p_nk - p_control < delta) for independent Beta mixtures (RBesT ``pmixdiff``):
    :math:`\int g_c(t) F_{nk}(\operatorname{expit}(t) + \delta)\, dt` on the logit scale of the
    control risk (see the module docstring); accurate to about 1e-12."""
    if delta >= 1:
        return 1.0
    if delta <= -1:
        return 0.0
    grid = _grid(post_control.a_, post_control.b_, post_nk.a_, post_nk.b_, delta, cover_nk=False)
    density = _logit_density(grid.nodes, post_control.w_, post_control.a_, post_control.b_)[0]
    nk_cdf = post_nk.cdf(special.expit(grid.nodes) + delta)
    return float(np.clip(grid.weights @ (density * nk_cdf), 0.0, 1.0))


def is_success(
    post_nk: BetaMixture,
    post_control: BetaMixture,
    success_probability: float = SUCCESS_PROBABILITY,
    delta: float = RISK_DIFFERENCE_THRESHOLD,
) -> bool:
    """The decision for one outcome (RBesT ``decision2S``), from the two posteriors."""
    return prob_difference_below(post_nk, post_control, delta) > success_probability


# --------------------------------------------------------------------------- all outcomes


@lru_cache(maxsize=32)
def difference_probabilities(
    n_nk: int,
    n_control: int,
    prior_nk: BetaMixture,
    prior_control: BetaMixture,
    delta: float = RISK_DIFFERENCE_THRESHOLD,
) -> np.ndarray:
    """``[x_control, x_nk]``: P(p_nk - p_control < delta | x_nk of n_nk, x_control of n_control)
    for every outcome table (read-only). For delta = 0 one matrix product of control densities
    and NK distribution functions integrated on the same grid; otherwise the NK distribution
    functions are evaluated at the shifted nodes (slower)."""
    n_nk, n_control = int(n_nk), int(n_control)
    nk_posts = [prior_nk.posterior(x, n_nk) for x in range(n_nk + 1)]
    control_posts = [prior_control.posterior(x, n_control) for x in range(n_control + 1)]
    (nk_w, nk_a, nk_b), (c_w, c_a, c_b) = _stack(nk_posts), _stack(control_posts)
    if delta >= 1 or delta <= -1:
        probabilities = np.full((n_control + 1, n_nk + 1), 1.0 if delta >= 1 else 0.0)
    else:
        grid = _grid(c_a, c_b, nk_a, nk_b, delta, cover_nk=delta == 0)
        control_density = _logit_density(grid.nodes, c_w, c_a, c_b) * grid.weights
        if delta == 0:
            nk_cdf = _cumulative(_logit_density(grid.nodes, nk_w, nk_a, nk_b), grid)
        else:
            shifted = special.expit(grid.nodes) + delta
            nk_cdf = np.array([post.cdf(shifted) for post in nk_posts])
        probabilities = np.clip(control_density @ nk_cdf.T, 0.0, 1.0)
    probabilities.setflags(write=False)
    return probabilities


def success_region(
    n_nk: int,
    n_control: int,
    prior_nk: BetaMixture,
    prior_control: BetaMixture,
    *,
    success_probability: float = SUCCESS_PROBABILITY,
    delta: float = RISK_DIFFERENCE_THRESHOLD,
) -> np.ndarray:
    """Boolean ``[x_control, x_nk]`` matrix of the outcome tables declared a success. By the
    monotonicity of the decision (module docstring) each row is a run of successes from
    x_nk = 0 up to :func:`critical_values`, and the runs lengthen with x_control."""
    region = difference_probabilities(n_nk, n_control, prior_nk, prior_control, delta) > success_probability
    region.setflags(write=False)
    return region


def critical_values(
    n_nk: int,
    n_control: int,
    prior_nk: BetaMixture,
    prior_control: BetaMixture,
    *,
    success_probability: float = SUCCESS_PROBABILITY,
    delta: float = RISK_DIFFERENCE_THRESHOLD,
) -> np.ndarray:
    """For each x_control = 0..n_control, the largest x_nk declared a success, -1 if none
    (RBesT ``decision2S_boundary``)."""
    region = success_region(
        n_nk, n_control, prior_nk, prior_control, success_probability=success_probability, delta=delta
    )
    last = region.shape[1] - 1 - np.argmax(region[:, ::-1], axis=1)
    return np.where(region.any(axis=1), last, -1)


def probability_of_success(
    n_nk: int,
    n_control: int,
    prior_nk: BetaMixture,
    prior_control: BetaMixture,
    control_risk,
    nk_risk,
    *,
    success_probability: float = SUCCESS_PROBABILITY,
    delta: float = RISK_DIFFERENCE_THRESHOLD,
) -> np.ndarray:
    """Exact probability of success for each pair of true risks (vectorised over the pairs):
    the binomial probabilities of every table summed over the success region (RBesT ``oc2S``)."""
    control_risk, nk_risk = np.broadcast_arrays(np.atleast_1d(control_risk), np.atleast_1d(nk_risk))
    region = success_region(
        n_nk, n_control, prior_nk, prior_control, success_probability=success_probability, delta=delta
    )
    control_pmf = binomial_pmf(int(n_control), control_risk.ravel())
    nk_pmf = binomial_pmf(int(n_nk), nk_risk.ravel())
    return np.einsum("di,di->d", control_pmf @ region.astype(float), nk_pmf).reshape(control_risk.shape)


def operating_characteristics(
    n_nk: int,
    n_control: int,
    prior_nk: BetaMixture,
    prior_control: BetaMixture,
    control_risks=CONTROL_RISK_GRID,
    odds_ratios=ODDS_RATIO_GRID,
    *,
    success_probability: float = SUCCESS_PROBABILITY,
    delta: float = RISK_DIFFERENCE_THRESHOLD,
) -> pd.DataFrame:
    """One row per (true odds ratio, true control risk): the NK risk it implies, the exact
    probability of success (at OR = 1 the type I error, flagged ``null``) and, for equal arms,
    that of the one-sided Fisher test at ``assurance.ALPHA`` on the trial's data alone (NaN for
    unequal arms, which :mod:`nkreport.analysis.assurance` does not tabulate)."""
    control_risks = np.asarray(control_risks, dtype=float)
    frames = []
    for odds_ratio in odds_ratios:
        nk_risks = treated_risk(control_risks, np.log(odds_ratio))
        success = probability_of_success(
            n_nk,
            n_control,
            prior_nk,
            prior_control,
            control_risks,
            nk_risks,
            success_probability=success_probability,
            delta=delta,
        )
        fisher = (
            fisher_design.power(int(n_nk), control_risks, nk_risks)
            if n_nk == n_control
            else np.full(control_risks.size, np.nan)
        )
        frames.append(
            pd.DataFrame(
                {
                    "n_nk": int(n_nk),
                    "n_control": int(n_control),
                    "odds_ratio": float(odds_ratio),
                    "null": bool(odds_ratio == 1),
                    "control_risk": control_risks,
                    "nk_risk": nk_risks,
                    "probability_of_success": success,
                    "fisher_probability_of_success": fisher,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def assurance(
    n_nk: int,
    n_control: int,
    prior_nk: BetaMixture,
    prior_control: BetaMixture,
    control_risk_draws,
    log_or_draws,
    *,
    success_probability: float = SUCCESS_PROBABILITY,
    delta: float = RISK_DIFFERENCE_THRESHOLD,
) -> dict:
    """Assurance (mean probability of success over design-prior draws of the control risk and
    the log-OR) with its Monte Carlo standard error over the draws, sd / sqrt(draws)."""
    control = np.asarray(control_risk_draws, dtype=float).ravel()
    successes = probability_of_success(
        n_nk,
        n_control,
        prior_nk,
        prior_control,
        control,
        treated_risk(control, np.asarray(log_or_draws, dtype=float).ravel()),
        success_probability=success_probability,
        delta=delta,
    )
    return {
        "n_nk": int(n_nk),
        "n_control": int(n_control),
        "assurance": float(successes.mean()),
        "mcse": float(successes.std(ddof=1) / np.sqrt(successes.size)),
    }


# --------------------------------------------------------------------------- the borrowing


def prior_ess(prior_control: BetaMixture, method: str = ESS_METHOD) -> float:
    """Effective sample size of the control prior (``priors.ess``): about how many control
    patients the borrowing is worth."""
    return priors.ess(prior_control, method)


def balanced_control_size(n_nk: int, prior_control: BetaMixture, method: str = ESS_METHOD) -> int:
    """The control arm that, with the prior's ESS, matches the NK arm: n_nk - round(ESS)."""
    n_control = int(n_nk) - int(round(prior_ess(prior_control, method)))
    if n_control < 1:
        raise ValueError(f"the control prior is worth the whole control arm of {n_nk} (ESS {n_nk - n_control})")
    return n_control


def compare_with_fisher(
    n_nk: int,
    n_control: int,
    prior_nk: BetaMixture,
    prior_control: BetaMixture,
    control_risks=CONTROL_RISK_GRID,
    odds_ratios=(1.0, REFERENCE_OR),
) -> pd.DataFrame:
    """The operating characteristics of the borrowing design beside those of equal arms of
    ``n_nk`` analysed with the one-sided Fisher test (:func:`nkreport.analysis.assurance.power`),
    one row per design, odds ratio and control risk; ``design`` names each."""
    borrowing = operating_characteristics(n_nk, n_control, prior_nk, prior_control, control_risks, odds_ratios)
    risks = borrowing["control_risk"].to_numpy()
    fisher = fisher_design.power(int(n_nk), risks, borrowing["nk_risk"].to_numpy())
    return pd.concat(
        [
            borrowing.assign(design=f"robust MAP, {n_nk} NK : {n_control} control"),
            borrowing.assign(design=f"Fisher, {n_nk} per arm", n_control=int(n_nk), probability_of_success=fisher),
        ],
        ignore_index=True,
    )


def design_summary(comparison: pd.DataFrame, odds_ratio: float = REFERENCE_OR, control_risk=REFERENCE_CONTROL_RISK):
    """Per design of :func:`compare_with_fisher`: the smallest and largest type I error over the
    control risks and the power at ``odds_ratio`` and ``control_risk``."""
    rows = []
    for design, part in comparison.groupby("design", sort=False):
        type1 = part.loc[part["null"], "probability_of_success"]
        at = part[np.isclose(part["odds_ratio"], odds_ratio) & np.isclose(part["control_risk"], control_risk)]
        if at.empty:
            raise ValueError(f"no row at OR {odds_ratio} and control risk {control_risk}: add them to the grid")
        rows.append(
            {
                "design": design,
                "type1_min": float(type1.min()),
                "type1_max": float(type1.max()),
                "power": float(at["probability_of_success"].iloc[0]),
            }
        )
    return pd.DataFrame(rows)
