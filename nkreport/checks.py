"""The MCMC gate: every fit the book reports must pass it, or the build fails.

:func:`assert_converged` checks R-hat, bulk and tail effective sample size and divergences
with ArviZ, and raises :class:`ConvergenceError` naming the model and the failing statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RHAT_MAX = 1.01
ESS_MIN = 1000


class ConvergenceError(RuntimeError):
    """An MCMC fit failed the gate."""


@dataclass(frozen=True)
class GateReport:
    model: str
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int

    def as_dict(self) -> dict:
        return {"model": self.model, "max_rhat": self.max_rhat, "min_ess_bulk": self.min_ess_bulk,
                "min_ess_tail": self.min_ess_tail, "divergences": self.divergences}


def gate_report(idata, model: str, var_names=None) -> GateReport:
    import arviz as az  # imported when first needed: chapters that only read stored fits skip it

    # unrounded: az.summary rounds to two decimals by default, which would let R-hat 1.014 pass
    summary = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    divergences = int(np.asarray(idata.sample_stats["diverging"]).sum()) if "diverging" in idata.sample_stats else 0
    return GateReport(model, float(summary["r_hat"].max()), float(summary["ess_bulk"].min()),
                      float(summary["ess_tail"].min()), divergences)


def assert_converged(idata, model: str, var_names=None, *, rhat_max: float = RHAT_MAX,
                     ess_min: float = ESS_MIN) -> GateReport:
    """Raise :class:`ConvergenceError` unless R-hat ≤ rhat_max, bulk and tail ESS ≥ ess_min and
    there are no divergences; return the report otherwise."""
    report = gate_report(idata, model, var_names)
    failures = []
    if not report.max_rhat <= rhat_max:
        failures.append(f"max R-hat {report.max_rhat:.4f} > {rhat_max}")
    if not report.min_ess_bulk >= ess_min:
        failures.append(f"min bulk ESS {report.min_ess_bulk:.0f} < {ess_min}")
    if not report.min_ess_tail >= ess_min:
        failures.append(f"min tail ESS {report.min_ess_tail:.0f} < {ess_min}")
    if report.divergences:
        failures.append(f"{report.divergences} divergent transitions")
    if failures:
        raise ConvergenceError(f"model {model!r} failed the MCMC gate: " + "; ".join(failures))
    return report


# --------------------------------------------------------------------------- deterministic cross-check
# The hierarchical binomial-logit model of :mod:`nkreport.models`, integrated without sampling:
#   mu ~ Normal(0, mu_sd), tau ~ HalfNormal(tau_scale), logit theta_i ~ Normal(mu, tau),
#   events_i ~ Binomial(n_i, theta_i).
# Each study's random effect is integrated on a fine logit grid with *exact* normal cell
# probabilities (Phi differences; accurate for every tau, including tau -> 0, where Gauss-Hermite
# nodes would be too coarse for large tau); (mu, tau) are integrated on a midpoint grid. The
# likelihood grid does not depend on the prior scale of tau, so a sweep over scales only
# re-weights it.

from functools import lru_cache  # noqa: E402

import pandas as pd  # noqa: E402
from scipy import optimize as _optimize  # noqa: E402
from scipy import special as _special  # noqa: E402
from scipy import stats as _stats  # noqa: E402

QUADRATURE_MU_POINTS = 161
QUADRATURE_TAU_POINTS = 160
QUADRATURE_TAU_MAX = 10.0
QUADRATURE_ETA_EDGES = np.linspace(-16.0, 12.0, 281)


@lru_cache(maxsize=32)
def _likelihood_grid(events: tuple[int, ...], n: tuple[int, ...], mu_sd: float):
    """log L(mu, tau) and E[theta_new | mu, tau] on the (mu, tau) grid."""
    mu = np.linspace(-5 * mu_sd, 5 * mu_sd, QUADRATURE_MU_POINTS)
    tau_step = QUADRATURE_TAU_MAX / QUADRATURE_TAU_POINTS
    tau = (np.arange(QUADRATURE_TAU_POINTS) + 0.5) * tau_step
    edges = QUADRATURE_ETA_EDGES
    eta = 0.5 * (edges[1:] + edges[:-1])
    events_arr = np.asarray(events, dtype=float)[:, None]
    n_arr = np.asarray(n, dtype=float)[:, None]
    # binomial likelihood of each study at each grid value of logit theta, (studies, cells)
    study_lik = np.exp(_stats.binom.logpmf(events_arr, n_arr, _special.expit(eta)[None, :]))
    log_lik = np.empty((mu.size, tau.size))
    mean_new = np.empty((mu.size, tau.size))
    expit_eta = _special.expit(eta)
    for j, tau_j in enumerate(tau):
        cell = np.diff(_special.ndtr((edges[None, :] - mu[:, None]) / tau_j), axis=1)  # (mu, cells)
        marginal = cell @ study_lik.T  # (mu, studies)
        log_lik[:, j] = np.log(np.clip(marginal, 1e-300, None)).sum(axis=1)
        mean_new[:, j] = cell @ expit_eta
    return mu, tau, log_lik, mean_new


@dataclass(frozen=True)
class QuadratureResult:
    """Posterior of (mu, tau) on a grid and the predictive distribution of a new study's risk."""

    mu: np.ndarray
    tau: np.ndarray
    weights: np.ndarray  # posterior mass of each (mu, tau) cell, sums to 1
    mean_new_given: np.ndarray

    @property
    def predictive_mean(self) -> float:
        return float((self.weights * self.mean_new_given).sum())

    def _cells(self):
        """(mu, tau, weight) of the cells carrying posterior mass (> 1e-11), flattened."""
        keep = self.weights > 1e-11
        mu_index, tau_index = np.nonzero(keep)
        return self.mu[mu_index], self.tau[tau_index], self.weights[keep]

    def predictive_cdf(self, risk) -> np.ndarray:
        logit = _special.logit(np.atleast_1d(np.asarray(risk, dtype=float)))
        mu, tau, weight = self._cells()
        return _special.ndtr((logit[:, None] - mu[None, :]) / tau[None, :]) @ weight

    def predictive_quantile(self, prob: float) -> float:
        root = _optimize.brentq(lambda logit: self.predictive_cdf(_special.expit(logit))[0] - prob, -30, 30, xtol=1e-10)
        return float(_special.expit(root))

    def predictive_pdf(self, risk) -> np.ndarray:
        risk = np.atleast_1d(np.asarray(risk, dtype=float))
        logit = _special.logit(risk)
        mu, tau, weight = self._cells()
        # each mu cell's mass spread evenly over the cell (a smooth density; point masses at the
        # cell centres would give ripples where tau is small)
        half = 0.5 * (self.mu[1] - self.mu[0])
        spread = (_special.ndtr((logit[:, None] - mu[None, :] + half) / tau[None, :])
                  - _special.ndtr((logit[:, None] - mu[None, :] - half) / tau[None, :])) / (2 * half)
        return (spread @ weight) / (risk * (1 - risk))

    def sample_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws of a new study's risk: a (mu, tau) cell by its posterior mass, then the risk."""
        cells = rng.choice(self.weights.size, size=size, p=self.weights.ravel())
        mu_index, tau_index = np.unravel_index(cells, self.weights.shape)
        return _special.expit(self.mu[mu_index] + self.tau[tau_index] * rng.standard_normal(size))

    @property
    def tau_mean(self) -> float:
        return float((self.weights.sum(axis=0) * self.tau).sum())

    @property
    def mu_mean(self) -> float:
        return float((self.weights.sum(axis=1) * self.mu).sum())


def map_quadrature(events, n, *, tau_scale: float = 1.0, mu_sd: float = 2.0) -> QuadratureResult:
    """Deterministic posterior of the hierarchical binomial-logit model (see the comment above)."""
    events_t = tuple(int(e) for e in np.asarray(events))
    n_t = tuple(int(k) for k in np.asarray(n))
    if 5 * tau_scale > QUADRATURE_TAU_MAX:
        raise ValueError(f"tau_scale {tau_scale} too large for the quadrature grid (max {QUADRATURE_TAU_MAX / 5})")
    mu, tau, log_lik, mean_new = _likelihood_grid(events_t, n_t, float(mu_sd))
    log_prior = _stats.norm.logpdf(mu, 0, mu_sd)[:, None] + _stats.halfnorm.logpdf(tau, scale=tau_scale)[None, :]
    log_post = log_lik + log_prior
    weights = np.exp(log_post - log_post.max())
    weights /= weights.sum()
    return QuadratureResult(mu, tau, weights, mean_new)


@lru_cache(maxsize=32)
def _count_grid(events: tuple[int, ...], n: tuple[int, ...], mu_sd: float, new_n: int) -> tuple[np.ndarray, np.ndarray]:
    """P(Y = k | mu, tau) and E[theta_new 1{Y = k} | mu, tau] on the (mu, tau) grid, for a new
    study of ``new_n`` patients."""
    mu, tau, _, _ = _likelihood_grid(events, n, mu_sd)
    edges = QUADRATURE_ETA_EDGES
    eta = 0.5 * (edges[1:] + edges[:-1])
    count_lik = _stats.binom.pmf(np.arange(new_n + 1)[None, :], new_n, _special.expit(eta)[:, None])  # (cells, k)
    risk_count_lik = _special.expit(eta)[:, None] * count_lik
    probability = np.empty((mu.size, tau.size, new_n + 1))
    risk_moment = np.empty_like(probability)
    for j, tau_j in enumerate(tau):
        cell = np.diff(_special.ndtr((edges[None, :] - mu[:, None]) / tau_j), axis=1)
        probability[:, j, :] = cell @ count_lik
        risk_moment[:, j, :] = cell @ risk_count_lik
    return probability, risk_moment


def _count_arrays(events, n, new_n, tau_scale, mu_sd):
    events_t = tuple(int(e) for e in np.asarray(events))
    n_t = tuple(int(k) for k in np.asarray(n))
    quad = map_quadrature(events_t, n_t, tau_scale=tau_scale, mu_sd=mu_sd)
    probability, risk_moment = _count_grid(events_t, n_t, float(mu_sd), int(new_n))
    return quad, probability, risk_moment


def predictive_count_pmf(events, n, new_n: int, *, tau_scale: float = 1.0, mu_sd: float = 2.0) -> np.ndarray:
    """P(Y = k), k = 0..new_n, for the events of a new study of ``new_n`` patients under the
    MAP prior (the prior predictive used by the Box check), by the same quadrature. The
    conditional grid does not depend on the scale of tau, so a sweep re-weights it."""
    quad, probability, _ = _count_arrays(events, n, new_n, tau_scale, mu_sd)
    pmf = np.tensordot(quad.weights, probability, axes=([0, 1], [0, 1]))
    return pmf / pmf.sum()


def map_posterior_mean(events, n, new_events: int, new_n: int, *, tau_scale: float = 1.0,
                       mu_sd: float = 2.0) -> float:
    """Posterior mean of the new study's risk after observing ``new_events`` of ``new_n``, under
    the exact (not mixture-approximated, not robustified) MAP prior."""
    quad, probability, risk_moment = _count_arrays(events, n, new_n, tau_scale, mu_sd)
    numerator = float((quad.weights * risk_moment[:, :, new_events]).sum())
    return numerator / float((quad.weights * probability[:, :, new_events]).sum())


#: Predictive summaries compared between MCMC and quadrature.
CROSSCHECK_PROBS = (0.025, 0.5, 0.975)
#: MCMC and quadrature agree when they differ by at most this many Monte Carlo standard errors
CROSSCHECK_TOLERANCE_MCSE = 4.0
#: ... plus this absolute allowance for the quadrature grid's discretisation
CROSSCHECK_GRID_ALLOWANCE = 0.002


def crosscheck_predictive(samples, quadrature: QuadratureResult, *, tolerance_mcse: float = CROSSCHECK_TOLERANCE_MCSE,
                          model: str = "model") -> pd.DataFrame:
    """Compare MCMC draws of a new study's risk (array chain × draw) with the quadrature.

    For the mean and the quantiles in :data:`CROSSCHECK_PROBS`, the difference must be within
    ``tolerance_mcse`` Monte Carlo standard errors (ArviZ's MCSE) plus
    :data:`CROSSCHECK_GRID_ALLOWANCE` (quadrature discretisation); raises :class:`ConvergenceError` otherwise and returns the comparison.
    """
    import arviz as az

    draws = np.asarray(samples, dtype=float)
    if draws.ndim == 1:
        draws = draws[None, :]
    dataset = az.convert_to_dataset({"risk": draws})

    def mcse(**kwargs) -> float:
        return float(az.mcse(dataset, **kwargs)["risk"].values)

    rows = [{"statistic": "mean", "mcmc": float(draws.mean()), "quadrature": quadrature.predictive_mean,
             "mcse": mcse(method="mean")}]
    for prob in CROSSCHECK_PROBS:
        rows.append({"statistic": f"{100 * prob:g} % quantile", "mcmc": float(np.quantile(draws, prob)),
                     "quadrature": quadrature.predictive_quantile(prob),
                     "mcse": mcse(method="quantile", prob=prob)})
    table = pd.DataFrame(rows)
    table["difference"] = table["mcmc"] - table["quadrature"]
    table["z"] = table["difference"] / table["mcse"]
    table["agrees"] = table["difference"].abs() <= tolerance_mcse * table["mcse"] + CROSSCHECK_GRID_ALLOWANCE
    if not table["agrees"].all():
        bad = table.loc[~table["agrees"], "statistic"].tolist()
        raise ConvergenceError(f"model {model!r}: MCMC and quadrature disagree on {bad}")
    return table
