"""The meta-analytic-predictive (MAP) model and its sampling settings.

The MAP prior (Neuenschwander et al. 2010) for the risk of an outcome in a *new* study is the
predictive distribution of that risk under a hierarchical binomial-logit model fitted to the
earlier studies:

    mu ~ Normal(0, MU_SD),   tau ~ HalfNormal(tau_scale),
    logit theta_i = mu + tau * z_i,   z_i ~ Normal(0, 1)          (non-centred),
    events_i ~ Binomial(n_i, theta_i),
    theta_new = invlogit(mu + tau * z_new),   z_new ~ Normal(0, 1).

Scales. ``MU_SD = 2`` on the logit scale is the unit-information standard deviation of a
binomial logit at 50 % (the variance of one Bernoulli observation's log-odds score is 1/(p(1-p))
= 4): it lets the data decide the level. ``tau ~ HalfNormal(1)`` puts about 32 % prior mass on
tau > 1 ("large" heterogeneity in Neuenschwander's classification: 0.5 substantial, 1 large),
the cautious choice when there are only two or three earlier studies, from one centre, with
different windows and designs. The sensitivity to the scale is computed by quadrature
(:func:`map_quadrature`), which re-weights one likelihood grid, so no model is
recompiled; the PyMC model also holds the scale in ``pm.Data`` so it can be re-set in place.

Every fit passes :func:`nkreport.analysis.mcmc.assert_converged`; fits are cached per process, and
their draws are stored between processes (see :func:`_stored_fit_path`) so that two chapters
using the same fit sample it once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
from scipy import optimize as _optimize
from scipy import special as _special
from scipy import stats
from scipy import stats as _stats

from .. import seed_for
from . import fit_store
from .mcmc import (
    CROSSCHECK_GRID_ALLOWANCE,
    CROSSCHECK_PROBS,
    CROSSCHECK_TOLERANCE_MCSE,
    ConvergenceError,
    GateReport,
    Sampling,
    assert_converged,
)

if TYPE_CHECKING:
    import pymc as pm

    from . import priors

#: Prior standard deviation of the mean log-odds (unit information for a binomial at 50 %).
MU_SD = 2.0
#: Default scale of the half-normal prior on the between-study standard deviation tau.
TAU_SCALE = 1.0
#: Scales shown in the sensitivity analysis (Neuenschwander: 0.25 moderate, 0.5 substantial, 1 large).
TAU_SCALES = (0.125, 0.25, 0.5, 1.0, 2.0)
#: Sampling settings for every MAP fit, in one place. With two studies the posterior of tau has
#: a funnel: target_accept 0.95 left a divergent transition for some seeds, 0.99 none. Four chains
#: (R-hat is designed for several; Vehtari et al. 2021 recommend at least 4) of 2000 draws
#: (1250 left the tail ESS below 1000 for some seeds).
SAMPLING = Sampling(draws=2000, tune=1000, chains=4, target_accept=0.99)
#: Variables checked by the MCMC gate.
GATED_VARS = ["mu", "tau", "theta", "theta_new"]


# --------------------------------------------------------------------------- deterministic cross-check
# The model above, integrated without sampling (its exact solution, the MCMC fit's cross-check):
#   mu ~ Normal(0, mu_sd), tau ~ HalfNormal(tau_scale), logit theta_i ~ Normal(mu, tau),
#   events_i ~ Binomial(n_i, theta_i).
# Each study's random effect is integrated on a fine logit grid with *exact* normal cell
# probabilities (Phi differences; accurate for every tau, including tau -> 0, where Gauss-Hermite
# nodes would be too coarse for large tau); (mu, tau) are integrated on a midpoint grid. The
# likelihood grid does not depend on the prior scale of tau, so a sweep over scales only
# re-weights it.


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

    def predictive_quantiles(self, probs) -> np.ndarray:
        """Quantiles of the predictive distribution for many probabilities at once: the CDF on a
        fine logit grid (spacing 0.005), inverted by linear interpolation in the logit (agrees
        with :meth:`predictive_quantile`, which solves each one by root finding, to about 1e-6)."""
        probs = np.asarray(probs, dtype=float)
        logit = np.linspace(-30.0, 30.0, 12001)
        cdf = self.predictive_cdf(_special.expit(logit))
        keep = np.concatenate([[True], np.diff(cdf) > 0])  # strictly increasing for the inversion
        return _special.expit(np.interp(probs, cdf[keep], logit[keep]))

    def exact_points(self, size: int) -> np.ndarray:
        """``size`` exact quantile points of the predictive distribution, at probabilities
        (i - 1/2)/size: a deterministic sample with the exact distribution's tails (random draws,
        MCMC or not, thin out the right tail)."""
        return self.predictive_quantiles((np.arange(size) + 0.5) / size)

    def predictive_pdf(self, risk) -> np.ndarray:
        risk = np.atleast_1d(np.asarray(risk, dtype=float))
        logit = _special.logit(risk)
        mu, tau, weight = self._cells()
        # each mu cell's mass spread evenly over the cell (a smooth density; point masses at the
        # cell centres would give ripples where tau is small)
        half = 0.5 * (self.mu[1] - self.mu[0])
        spread = (
            _special.ndtr((logit[:, None] - mu[None, :] + half) / tau[None, :])
            - _special.ndtr((logit[:, None] - mu[None, :] - half) / tau[None, :])
        ) / (2 * half)
        return (spread @ weight) / (risk * (1 - risk))

    def sample_predictive(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draws of a new study's risk: a (mu, tau) cell by its posterior mass, then the risk."""
        cells = rng.choice(self.weights.size, size=size, p=self.weights.ravel())
        mu_index, tau_index = np.unravel_index(cells, self.weights.shape)
        return _special.expit(self.mu[mu_index] + self.tau[tau_index] * rng.standard_normal(size))

    @property
    def tau_mean(self) -> float:
        return float((self.weights.sum(axis=0) * self.tau).sum())


def map_quadrature(events, n, *, tau_scale: float = TAU_SCALE, mu_sd: float = MU_SD) -> QuadratureResult:
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


def predictive_count_pmf(events, n, new_n: int, *, tau_scale: float = TAU_SCALE, mu_sd: float = MU_SD) -> np.ndarray:
    """P(Y = k), k = 0..new_n, for the events of a new study of ``new_n`` patients under the
    MAP prior (the prior predictive used by the Box check), by the same quadrature. The
    conditional grid does not depend on the scale of tau, so a sweep re-weights it."""
    quad, probability, _ = _count_arrays(events, n, new_n, tau_scale, mu_sd)
    pmf = np.tensordot(quad.weights, probability, axes=([0, 1], [0, 1]))
    return pmf / pmf.sum()


def map_posterior_mean(
    events, n, new_events: int, new_n: int, *, tau_scale: float = TAU_SCALE, mu_sd: float = MU_SD
) -> float:
    """Posterior mean of the new study's risk after observing ``new_events`` of ``new_n``, under
    the exact (not mixture-approximated, not robustified) MAP prior."""
    quad, probability, risk_moment = _count_arrays(events, n, new_n, tau_scale, mu_sd)
    numerator = float((quad.weights * risk_moment[:, :, new_events]).sum())
    return numerator / float((quad.weights * probability[:, :, new_events]).sum())


def crosscheck_predictive(
    samples, quadrature: QuadratureResult, *, tolerance_mcse: float = CROSSCHECK_TOLERANCE_MCSE, model: str = "model"
) -> pd.DataFrame:
    """Compare MCMC draws of a new study's risk (array chain × draw) with the quadrature.

    For the mean and the quantiles in :data:`CROSSCHECK_PROBS`, the difference must be within
    ``tolerance_mcse`` Monte Carlo standard errors (ArviZ's MCSE) plus
    :data:`CROSSCHECK_GRID_ALLOWANCE` (quadrature discretisation); raises :class:`ConvergenceError`
    otherwise and returns the comparison.
    """
    import arviz as az

    draws = np.asarray(samples, dtype=float)
    if draws.ndim == 1:
        draws = draws[None, :]
    dataset = az.convert_to_dataset({"risk": draws})

    def mcse(**kwargs) -> float:
        return float(az.mcse(dataset, **kwargs)["risk"].values)

    rows = [
        {
            "statistic": "mean",
            "mcmc": float(draws.mean()),
            "quadrature": quadrature.predictive_mean,
            "mcse": mcse(method="mean"),
        }
    ]
    for prob in CROSSCHECK_PROBS:
        rows.append(
            {
                "statistic": f"{100 * prob:g} % quantile",
                "mcmc": float(np.quantile(draws, prob)),
                "quadrature": quadrature.predictive_quantile(prob),
                "mcse": mcse(method="quantile", prob=prob),
            }
        )
    table = pd.DataFrame(rows)
    table["difference"] = table["mcmc"] - table["quadrature"]
    table["z"] = table["difference"] / table["mcse"]
    table["agrees"] = table["difference"].abs() <= tolerance_mcse * table["mcse"] + CROSSCHECK_GRID_ALLOWANCE
    if not table["agrees"].all():
        bad = table.loc[~table["agrees"], "statistic"].tolist()
        raise ConvergenceError(f"model {model!r}: MCMC and quadrature disagree on {bad}")
    return table


def tau_prior_probability_above(value: float, tau_scale: float = TAU_SCALE) -> float:
    """Prior probability that tau exceeds ``value`` under HalfNormal(tau_scale)."""
    return float(stats.halfnorm.sf(value, scale=tau_scale))


def earlier_studies(
    cohorts: pd.DataFrame, outcome: str, role: str | tuple[str, ...] = "earlier_treated"
) -> pd.DataFrame:
    """The rows of one role (or several) and outcome (one per study) with events and n; new
    rows flow in."""
    roles = (role,) if isinstance(role, str) else tuple(role)
    rows = cohorts[cohorts["role"].isin(roles) & (cohorts["outcome"] == outcome)]
    if rows.empty:
        raise ValueError(f"no cohort rows with role {role!r} and outcome {outcome!r}")
    return rows[["cohort_id", "study", "events", "n", "window_days", "verified"]].reset_index(drop=True)


def build_map_model(
    events, n, *, tau_scale: float = TAU_SCALE, mu_sd: float = MU_SD, events_as_data: bool = False
) -> pm.Model:
    """The non-centred hierarchical binomial-logit model (see the module docstring).

    ``events_as_data=True`` holds the counts in a ``pm.Data`` container ``"events_data"``, so
    that one compiled model serves many data sets (simulation-based calibration re-sets it)."""
    import pymc as pm  # imported when first needed: a chapter reading a stored fit skips PyMC

    events = np.asarray(events, dtype=int)
    n = np.asarray(n, dtype=int)
    coords = {"study": np.arange(events.size)}
    with pm.Model(coords=coords) as model:
        scale = pm.Data("tau_scale", float(tau_scale))
        mu = pm.Normal("mu", 0.0, mu_sd)
        tau_unit = pm.HalfNormal("tau_unit", 1.0)
        tau = pm.Deterministic("tau", scale * tau_unit)
        z = pm.Normal("z", 0.0, 1.0, dims="study")
        logit_theta = mu + tau * z
        pm.Deterministic("theta", pm.math.invlogit(logit_theta), dims="study")
        observed = pm.Data("events_data", events, dims="study") if events_as_data else events
        pm.Binomial("events", n=n, logit_p=logit_theta, observed=observed, dims="study")
        z_new = pm.Normal("z_new", 0.0, 1.0)
        pm.Deterministic("theta_new", pm.math.invlogit(mu + tau * z_new))
    return model


@dataclass
class MapFit:
    """A gated MAP fit: the studies, the posterior, the gate report and the quadrature check."""

    name: str
    studies: pd.DataFrame
    tau_scale: float
    idata: az.InferenceData
    gate: GateReport
    crosscheck: pd.DataFrame

    @property
    def predictive_draws(self) -> np.ndarray:
        """Draws of a new study's risk (the MAP prior), chains concatenated."""
        return np.asarray(self.idata.posterior["theta_new"]).ravel()

    def summary(self, level: float = 0.95, quadrature: "QuadratureResult | None" = None) -> pd.DataFrame:
        """Each study's raw proportion and shrunken estimate (MCMC), and the predictive row: exact
        when ``quadrature`` (the same model by :func:`map_quadrature`) is given, else from the
        draws."""
        tail = (1 - level) / 2
        theta = np.asarray(self.idata.posterior["theta"]).reshape(-1, len(self.studies))
        rows = []
        for i, study in self.studies.iterrows():
            draws = theta[:, i]
            rows.append(
                {
                    "study": study["study"],
                    "events": int(study["events"]),
                    "n": int(study["n"]),
                    "raw": study["events"] / study["n"],
                    "mean": draws.mean(),
                    "low": np.quantile(draws, tail),
                    "high": np.quantile(draws, 1 - tail),
                }
            )
        new = self.predictive_draws
        if quadrature is None:
            predictive = {"mean": new.mean(), "low": np.quantile(new, tail), "high": np.quantile(new, 1 - tail)}
        else:
            low, high = quadrature.predictive_quantiles([tail, 1 - tail])
            predictive = {"mean": quadrature.predictive_mean, "low": float(low), "high": float(high)}
        rows.append({"study": "new study (MAP prior)", "events": pd.NA, "n": pd.NA, "raw": np.nan, **predictive})
        return pd.DataFrame(rows)

    def tau_summary(self) -> dict:
        tau = np.asarray(self.idata.posterior["tau"]).ravel()
        return {
            "median": float(np.median(tau)),
            "low": float(np.quantile(tau, 0.025)),
            "high": float(np.quantile(tau, 0.975)),
        }


_CACHE: dict[tuple, MapFit] = {}
#: Environment variable controlling the store of fits (see :mod:`nkreport.analysis.fit_store`).
FIT_STORE_ENV = fit_store.STORE_ENV


def _stored_fit_path(key: tuple) -> Path | None:
    """Where a fit's draws are stored between kernels: keyed by the data, settings, seed and
    this module's source (library versions are added by :func:`nkreport.analysis.fit_store.store_path`)."""
    return fit_store.store_path(
        key[0], [repr(key), seed_for(key[0]), Path(__file__).read_text(encoding="utf-8")], ".nc"
    )


def fit_map(
    studies: pd.DataFrame,
    name: str,
    *,
    tau_scale: float = TAU_SCALE,
    mu_sd: float = MU_SD,
    sampling: dict | None = None,
) -> MapFit:
    """Sample the MAP model for ``studies`` (columns events, n), gate it and check it against
    quadrature. The same fit (data, scale, settings) is sampled once per process."""
    settings = replace(SAMPLING, **(sampling or {}))
    events = tuple(int(e) for e in studies["events"])
    n = tuple(int(k) for k in studies["n"])
    key = (name, events, n, float(tau_scale), float(mu_sd), tuple(sorted(asdict(settings).items())))
    if key in _CACHE:
        return _CACHE[key]
    stored = _stored_fit_path(key)
    if stored is not None and stored.exists():
        idata = fit_store.load(stored)
    else:
        import pymc as pm

        model = build_map_model(events, n, tau_scale=tau_scale, mu_sd=mu_sd)
        with model:
            idata = pm.sample(random_seed=seed_for(name), **settings.kwargs())
        if stored is not None:
            fit_store.save(stored, idata)
    gate = assert_converged(idata, name, var_names=GATED_VARS)
    quadrature = map_quadrature(events, n, tau_scale=tau_scale, mu_sd=mu_sd)
    crosscheck = crosscheck_predictive(np.asarray(idata.posterior["theta_new"]), quadrature, model=name)
    fit = MapFit(name, studies.reset_index(drop=True), float(tau_scale), idata, gate, crosscheck)
    _CACHE[key] = fit
    return fit


def clear_cache() -> None:
    _CACHE.clear()


def tau_sensitivity(
    studies: pd.DataFrame, scales=TAU_SCALES, *, trial: tuple[int, int] | None = None, mu_sd: float = MU_SD
) -> pd.DataFrame:
    """For each prior scale of tau, by quadrature (one likelihood grid, re-weighted; nothing is
    recompiled): the posterior mean of tau, the MAP prior's mean, median and 95 % interval and,
    if ``trial=(events, n)`` is given, the Box prior-predictive p-value of the trial's count and
    the posterior mean of the trial's risk under the (exact, non-robust) MAP prior."""
    from .priors import box_p_from_pmf

    rows = []
    for scale in scales:
        quad = map_quadrature(studies["events"], studies["n"], tau_scale=scale, mu_sd=mu_sd)
        row = {
            "tau_scale": scale,
            "tau_mean": quad.tau_mean,
            "mean": quad.predictive_mean,
            "low": quad.predictive_quantile(0.025),
            "median": quad.predictive_quantile(0.5),
            "high": quad.predictive_quantile(0.975),
        }
        if trial is not None:
            events, n = trial
            pmf = predictive_count_pmf(studies["events"], studies["n"], n, tau_scale=scale, mu_sd=mu_sd)
            row["box_p"] = box_p_from_pmf(pmf, events)
            row["posterior_mean"] = map_posterior_mean(
                studies["events"], studies["n"], events, n, tau_scale=scale, mu_sd=mu_sd
            )
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- MAP prior, parametric form


@dataclass
class MapPrior:
    """RBesT's order: the MAP fit, its parametric (Beta mixture) approximation and how close
    the approximation is to the exact (quadrature) MAP prior. ``fit`` is None when the MAP
    draws came from the quadrature rather than from MCMC."""

    fit: MapFit | None
    quadrature: "QuadratureResult"
    mixture_fit: "priors.MixtureFit"
    max_cdf_difference: float  # largest |F_mixture - F_quadrature|
    quantile_check: pd.DataFrame  # mixture_quantile_check: the mixture's quantiles against the exact ones

    @property
    def mixture(self) -> "priors.BetaMixture":
        return self.mixture_fit.mixture


_MAP_PRIORS: dict[tuple, MapPrior] = {}
#: The Beta mixture is fitted to this many exact quantile points of the MAP prior (quadrature).
MIXTURE_POINTS = 10000
#: Probabilities at which the mixture's quantiles are compared with the exact MAP prior's ...
MIXTURE_CHECK_PROBS = (0.025, 0.25, 0.5, 0.75, 0.975)
#: ... and the largest difference allowed (absolute, on the risk scale: half a percentage point).
MIXTURE_QUANTILE_TOLERANCE = 0.005


def fit_mixture_to_quadrature(
    quad: QuadratureResult, *, max_components: int = 3, criterion: str = "bic"
) -> "priors.MixtureFit":
    """The Beta-mixture approximation of the exact MAP prior: EM on :data:`MIXTURE_POINTS` exact
    quantile points (:meth:`QuadratureResult.exact_points`), 1 to ``max_components`` components
    compared by ``criterion``."""
    from . import priors

    points = quad.exact_points(MIXTURE_POINTS)
    return priors.fit_beta_mixture(points, max_components=max_components, criterion=criterion)


def mixture_quantile_check(mixture: "priors.BetaMixture", quad: QuadratureResult) -> pd.DataFrame:
    """Quantiles of the Beta-mixture approximation against the exact MAP prior (quadrature), at
    :data:`MIXTURE_CHECK_PROBS`; ``within`` says whether each differs by at most
    :data:`MIXTURE_QUANTILE_TOLERANCE`."""
    probs = np.asarray(MIXTURE_CHECK_PROBS)
    exact = quad.predictive_quantiles(probs)
    approx = np.array([mixture.quantile(p) for p in probs])
    diff = approx - exact
    return pd.DataFrame(
        {"prob": probs, "exact": exact, "mixture": approx, "difference": diff,
         "within": np.abs(diff) <= MIXTURE_QUANTILE_TOLERANCE}
    )


def map_prior(
    cohorts: pd.DataFrame,
    outcome: str,
    role: str | tuple[str, ...] = "earlier_treated",
    *,
    tau_scale: float = TAU_SCALE,
    max_components: int = 3,
    criterion: str = "bic",
    method: str = "mcmc",
) -> MapPrior:
    """Fit the MAP model to the ``role`` rows of ``outcome`` and approximate its predictive
    distribution by a Beta mixture (EM, components by ``criterion``), fitted to
    :data:`MIXTURE_POINTS` exact quantile points of the quadrature solution (not to MCMC draws,
    whose right tail is thinner than the exact prior's). ``method='mcmc'`` also samples the PyMC
    model (gated, and checked against quadrature) for the chapters that show it;
    ``method='quadrature'`` does not. Cached per process."""
    from . import priors

    if method not in ("mcmc", "quadrature"):
        raise ValueError("method must be 'mcmc' or 'quadrature'")
    studies = earlier_studies(cohorts, outcome, role)
    name = f"map_{outcome}_{role if isinstance(role, str) else '+'.join(role)}"
    key = (name, tuple(studies["events"]), tuple(studies["n"]), tau_scale, max_components, criterion, method)
    if key not in _MAP_PRIORS:
        quad = map_quadrature(studies["events"], studies["n"], tau_scale=tau_scale)
        fit = fit_map(studies, name, tau_scale=tau_scale) if method == "mcmc" else None
        mixture_fit = fit_mixture_to_quadrature(quad, max_components=max_components, criterion=criterion)
        error = priors.max_cdf_difference(mixture_fit.mixture, quad.predictive_cdf)
        check = mixture_quantile_check(mixture_fit.mixture, quad)
        _MAP_PRIORS[key] = MapPrior(fit, quad, mixture_fit, error, check)
    return _MAP_PRIORS[key]


def pooled_rate(cohorts: pd.DataFrame, outcome: str, role: str) -> tuple[int, int]:
    """Total events and patients of one role and outcome (a simple pooled proportion)."""
    rows = earlier_studies(cohorts, outcome, role)
    return int(rows["events"].sum()), int(rows["n"].sum())
