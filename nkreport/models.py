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
(:func:`nkreport.checks.map_quadrature`), which re-weights one likelihood grid, so no model is
recompiled; the PyMC model also holds the scale in ``pm.Data`` so it can be re-set in place.

Every fit passes :func:`nkreport.checks.assert_converged`; fits are cached per process, and
their draws are stored between processes (see :func:`_stored_fit_path`) so that two chapters
using the same fit sample it once.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
from scipy import stats

from . import SEED, store
from .checks import (
    GateReport,
    QuadratureResult,
    assert_converged,
    crosscheck_predictive,
    map_posterior_mean,
    map_quadrature,
    predictive_count_pmf,
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
#: a funnel: target_accept 0.95 left a divergent transition for some seeds, 0.99 none.
SAMPLING = dict(draws=2500, tune=1000, chains=2, cores=2, target_accept=0.99, progressbar=False,
                compute_convergence_checks=False)
#: Variables checked by the MCMC gate.
GATED_VARS = ["mu", "tau", "theta", "theta_new"]


def tau_prior_probability_above(value: float, tau_scale: float = TAU_SCALE) -> float:
    """Prior probability that tau exceeds ``value`` under HalfNormal(tau_scale)."""
    return float(stats.halfnorm.sf(value, scale=tau_scale))


def seed_for(name: str) -> int:
    """A seed derived from :data:`nkreport.SEED` and a model's name (stable across runs)."""
    return (SEED + zlib.crc32(name.encode())) % (2**31 - 1)


def earlier_studies(cohorts: pd.DataFrame, outcome: str, role: str = "earlier_treated") -> pd.DataFrame:
    """The rows of one role and outcome (one per study) with events and n; new rows flow in."""
    rows = cohorts[(cohorts["role"] == role) & (cohorts["outcome"] == outcome)]
    if rows.empty:
        raise ValueError(f"no cohort rows with role {role!r} and outcome {outcome!r}")
    return rows[["cohort_id", "study", "events", "n", "window_days", "verified"]].reset_index(drop=True)


def build_map_model(events, n, *, tau_scale: float = TAU_SCALE, mu_sd: float = MU_SD) -> pm.Model:
    """The non-centred hierarchical binomial-logit model (see the module docstring)."""
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
        pm.Binomial("events", n=n, logit_p=logit_theta, observed=events, dims="study")
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

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Each study's raw proportion and shrunken estimate, and the predictive row."""
        tail = (1 - level) / 2
        theta = np.asarray(self.idata.posterior["theta"]).reshape(-1, len(self.studies))
        rows = []
        for i, study in self.studies.iterrows():
            draws = theta[:, i]
            rows.append({"study": study["study"], "events": int(study["events"]), "n": int(study["n"]),
                         "raw": study["events"] / study["n"], "mean": draws.mean(),
                         "low": np.quantile(draws, tail), "high": np.quantile(draws, 1 - tail)})
        new = self.predictive_draws
        rows.append({"study": "new study (MAP prior)", "events": pd.NA, "n": pd.NA, "raw": np.nan,
                     "mean": new.mean(), "low": np.quantile(new, tail), "high": np.quantile(new, 1 - tail)})
        return pd.DataFrame(rows)

    def tau_summary(self) -> dict:
        tau = np.asarray(self.idata.posterior["tau"]).ravel()
        return {"median": float(np.median(tau)), "low": float(np.quantile(tau, 0.025)),
                "high": float(np.quantile(tau, 0.975))}


_CACHE: dict[tuple, MapFit] = {}
#: Environment variable controlling the store of fits (see :mod:`nkreport.store`).
FIT_STORE_ENV = store.STORE_ENV


def _stored_fit_path(key: tuple) -> Path | None:
    """Where a fit's draws are stored between kernels: keyed by the data, settings, seed and
    this module's source (library versions are added by :func:`nkreport.store.store_path`)."""
    return store.store_path(key[0], [repr(key), seed_for(key[0]), Path(__file__).read_text(encoding="utf-8")], ".nc")


def fit_map(studies: pd.DataFrame, name: str, *, tau_scale: float = TAU_SCALE, mu_sd: float = MU_SD,
            sampling: dict | None = None) -> MapFit:
    """Sample the MAP model for ``studies`` (columns events, n), gate it and check it against
    quadrature. The same fit (data, scale, settings) is sampled once per process."""
    settings = dict(SAMPLING, **(sampling or {}))
    events = tuple(int(e) for e in studies["events"])
    n = tuple(int(k) for k in studies["n"])
    key = (name, events, n, float(tau_scale), float(mu_sd), tuple(sorted(settings.items())))
    if key in _CACHE:
        return _CACHE[key]
    stored = _stored_fit_path(key)
    if stored is not None and stored.exists():
        idata = az.from_netcdf(stored)
        idata.load()
    else:
        import pymc as pm

        model = build_map_model(events, n, tau_scale=tau_scale, mu_sd=mu_sd)
        with model:
            idata = pm.sample(random_seed=seed_for(name), **settings)
        if stored is not None:
            store.write_atomic(stored, idata.to_netcdf)
    gate = assert_converged(idata, name, var_names=GATED_VARS)
    quadrature = map_quadrature(events, n, tau_scale=tau_scale, mu_sd=mu_sd)
    crosscheck = crosscheck_predictive(np.asarray(idata.posterior["theta_new"]), quadrature, model=name)
    fit = MapFit(name, studies.reset_index(drop=True), float(tau_scale), idata, gate, crosscheck)
    _CACHE[key] = fit
    return fit


def clear_cache() -> None:
    _CACHE.clear()


def tau_sensitivity(studies: pd.DataFrame, scales=TAU_SCALES, *, trial: tuple[int, int] | None = None,
                    mu_sd: float = MU_SD) -> pd.DataFrame:
    """For each prior scale of tau, by quadrature (one likelihood grid, re-weighted; nothing is
    recompiled): the posterior mean of tau, the MAP prior's mean, median and 95 % interval and,
    if ``trial=(events, n)`` is given, the Box prior-predictive p-value of the trial's count and
    the posterior mean of the trial's risk under the (exact, non-robust) MAP prior."""
    rows = []
    for scale in scales:
        quad = map_quadrature(studies["events"], studies["n"], tau_scale=scale, mu_sd=mu_sd)
        row = {"tau_scale": scale, "tau_mean": quad.tau_mean, "mean": quad.predictive_mean,
               "low": quad.predictive_quantile(0.025), "median": quad.predictive_quantile(0.5),
               "high": quad.predictive_quantile(0.975)}
        if trial is not None:
            events, n = trial
            pmf = predictive_count_pmf(studies["events"], studies["n"], n, tau_scale=scale, mu_sd=mu_sd)
            row["box_p"] = float(pmf[pmf <= pmf[events] * (1 + 1e-9)].sum())
            row["posterior_mean"] = map_posterior_mean(studies["events"], studies["n"], events, n,
                                                       tau_scale=scale, mu_sd=mu_sd)
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

    @property
    def mixture(self) -> "priors.BetaMixture":
        return self.mixture_fit.mixture


_MAP_PRIORS: dict[tuple, MapPrior] = {}
#: Number of predictive draws taken from the quadrature when no MCMC fit is used.
QUADRATURE_DRAWS = 5000


def map_prior(cohorts: pd.DataFrame, outcome: str, role: str = "earlier_treated", *,
              tau_scale: float = TAU_SCALE, max_components: int = 3, criterion: str = "bic",
              method: str = "mcmc") -> MapPrior:
    """Fit the MAP model to the ``role`` rows of ``outcome`` and approximate its predictive
    draws by a Beta mixture (EM, components by ``criterion``). ``method='mcmc'`` samples the
    PyMC model (gated, and checked against quadrature); ``method='quadrature'`` draws from the
    deterministic posterior of the same model (seeded). Cached per process."""
    from . import priors

    if method not in ("mcmc", "quadrature"):
        raise ValueError("method must be 'mcmc' or 'quadrature'")
    studies = earlier_studies(cohorts, outcome, role)
    name = f"map_{outcome}_{role}"
    key = (name, tuple(studies["events"]), tuple(studies["n"]), tau_scale, max_components, criterion, method)
    if key not in _MAP_PRIORS:
        quad = map_quadrature(studies["events"], studies["n"], tau_scale=tau_scale)
        if method == "mcmc":
            fit = fit_map(studies, name, tau_scale=tau_scale)
            draws = fit.predictive_draws
        else:
            fit = None
            draws = quad.sample_predictive(QUADRATURE_DRAWS, np.random.default_rng(seed_for(name)))
        mixture_fit = priors.fit_beta_mixture(draws, max_components=max_components, criterion=criterion)
        error = priors.max_cdf_difference(mixture_fit.mixture, quad.predictive_cdf)
        _MAP_PRIORS[key] = MapPrior(fit, quad, mixture_fit, error)
    return _MAP_PRIORS[key]


def pooled_rate(cohorts: pd.DataFrame, outcome: str, role: str) -> tuple[int, int]:
    """Total events and patients of one role and outcome (a simple pooled proportion)."""
    rows = earlier_studies(cohorts, outcome, role)
    return int(rows["events"].sum()), int(rows["n"].sum())
