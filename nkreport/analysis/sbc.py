"""Simulation-based calibration (Talts et al. 2018) of the MAP model and the comparative model.

For each replication a parameter vector is drawn from the model's prior, data are simulated at
the book's sample sizes, the model is fitted with NUTS, and the rank of the true value among
:data:`RANK_DRAWS` thinned posterior draws is recorded. If the sampler and the model's code are
right, each parameter's ranks are uniform on 0, ..., :data:`RANK_DRAWS`; the ranks are binned
into :data:`RANK_BINS` equal bins and tested with Pearson's chi-square.

The PyMC models are nkreport's own (:func:`nkreport.analysis.map_model.build_map_model`, and
:func:`nkreport.analysis.comparative.build_model` for the main setting); the prior draws are
written here independently from the models' documented priors.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import special, stats

from . import comparative, map_model
from .mcmc import Sampling

#: Thinned posterior draws per replication: ranks take the values 0, ..., RANK_DRAWS.
RANK_DRAWS = 99
#: Equal bins of the ranks for the chi-square test (RANK_DRAWS + 1 must be a multiple).
RANK_BINS = 10
#: Sampling of one SBC fit: one chain, the draws thinned to RANK_DRAWS (every 10th for the MAP
#: model, every 5th for the slower comparative model), PyTensor's default (C) backend, whose
#: compiled code is reused across replications.
SBC_SAMPLING = Sampling(draws=990, tune=500, chains=1, target_accept=0.99)
SBC_SAMPLING_COMPARATIVE = Sampling(draws=495, tune=400, chains=1, target_accept=0.98)
#: Parameters whose ranks are recorded.
MAP_PARAMETERS = ("mu", "tau")
COMPARATIVE_PARAMETERS = ("baseline_mean", "baseline_sd", "pooled_log_or", "tau")


def rank_of(true_value: float, draws: np.ndarray) -> int:
    """Number of ``draws`` below ``true_value``, after thinning to :data:`RANK_DRAWS` draws."""
    draws = np.asarray(draws, dtype=float).ravel()
    step = max(1, draws.size // RANK_DRAWS)
    thinned = draws[::step][:RANK_DRAWS]
    if thinned.size != RANK_DRAWS:
        raise ValueError(f"need at least {RANK_DRAWS} draws, got {draws.size}")
    return int(np.sum(thinned < true_value))


def rank_histogram(ranks) -> np.ndarray:
    """Counts of the ranks in :data:`RANK_BINS` equal bins of 0..RANK_DRAWS."""
    ranks = np.asarray(ranks, dtype=int)
    width = (RANK_DRAWS + 1) // RANK_BINS
    return np.bincount(ranks // width, minlength=RANK_BINS)[:RANK_BINS]


def uniformity_p_value(ranks) -> float:
    """Pearson chi-square p-value of the binned ranks against uniformity."""
    counts = rank_histogram(ranks)
    return float(stats.chisquare(counts).pvalue)


# --------------------------------------------------------------------------- MAP model


def map_prior_draw(rng: np.random.Generator, n_studies: int, tau_scale: float = map_model.TAU_SCALE,
                   mu_sd: float = map_model.MU_SD) -> dict:
    """mu ~ N(0, mu_sd), tau ~ HalfNormal(tau_scale), logit theta_i ~ N(mu, tau)."""
    mu = rng.normal(0.0, mu_sd)
    tau = abs(rng.normal(0.0, tau_scale))
    theta = special.expit(mu + tau * rng.standard_normal(n_studies))
    return {"mu": float(mu), "tau": float(tau), "theta": theta}


def _fit(model, seed: int, sampling: Sampling):
    import pymc as pm

    settings = replace(sampling)
    with model:
        idata = pm.sample(random_seed=seed, **settings.kwargs())
    return idata.posterior


def sbc_map(sizes, replications: int, seed: int, sampling: Sampling = SBC_SAMPLING) -> pd.DataFrame:
    """SBC of the MAP model at study sizes ``sizes``: one row per replication with the rank of
    each of :data:`MAP_PARAMETERS` (one compiled model, its counts re-set each time)."""
    import pymc as pm

    rng = np.random.default_rng(seed)
    sizes = np.asarray(sizes, dtype=int)
    model = map_model.build_map_model(np.zeros_like(sizes), sizes, events_as_data=True)
    rows = []
    for replication in range(replications):
        truth = map_prior_draw(rng, sizes.size)
        events = rng.binomial(sizes, truth["theta"])
        with model:
            pm.set_data({"events_data": events})
        posterior = _fit(model, seed + replication, sampling)
        row = {"replication": replication, "events": events.tolist()}
        for name in MAP_PARAMETERS:
            row[name] = rank_of(truth[name], np.asarray(posterior[name]))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- comparative model


def comparative_prior_draw(rng: np.random.Generator, evidence: comparative.Evidence) -> dict:
    """The main setting's priors (shift, window and bias terms are zero there):
    baseline_s = m + sigma z_s, effect_s = d + tau u_s, with
    m ~ N(BASELINE_PRIOR_MEAN, BASELINE_PRIOR_SD), sigma ~ HalfNormal(BASELINE_SD_SCALE),
    d ~ N(0, EFFECT_PRIOR_SD), tau = TAU_SCALE * HalfNormal(1)."""
    n_studies = len(evidence.studies)
    m = rng.normal(comparative.BASELINE_PRIOR_MEAN, comparative.BASELINE_PRIOR_SD)
    sigma = abs(rng.normal(0.0, comparative.BASELINE_SD_SCALE))
    d = rng.normal(0.0, comparative.EFFECT_PRIOR_SD)
    tau = comparative.TAU_SCALE * abs(rng.normal())
    baseline = m + sigma * rng.standard_normal(n_studies)
    effect = d + tau * rng.standard_normal(n_studies)
    return {"baseline_mean": m, "baseline_sd": sigma, "pooled_log_or": d, "tau": tau,
            "baseline": baseline, "effect": effect}


def sbc_comparative(replications: int, seed: int, evidence: comparative.Evidence | None = None,
                    sampling: Sampling = SBC_SAMPLING_COMPARATIVE) -> pd.DataFrame:
    """SBC of the comparative model's main setting at the book's arm sizes (one model, its data
    re-set for each replication)."""
    import pymc as pm

    evidence = evidence or comparative.build_evidence()
    setting = comparative.Setting("with_trial")
    values = comparative.batch_data(evidence, [setting])
    model = comparative.build_model(evidence, [setting])
    arms = evidence.arms
    study_index = arms["study_index"].to_numpy()
    treated = arms["treated"].to_numpy()
    sizes = values["arm_n"][0]
    rng = np.random.default_rng(seed)
    rows = []
    for replication in range(replications):
        truth = comparative_prior_draw(rng, evidence)
        logit_p = truth["baseline"][study_index] + treated * truth["effect"][study_index]
        events = rng.binomial(sizes, special.expit(logit_p))
        with model:
            pm.set_data({"arm_events": events[None, :].astype("int64")})
        posterior = _fit(model, seed + replication, sampling)
        row = {"replication": replication, "events": events.tolist()}
        for name in COMPARATIVE_PARAMETERS:
            row[name] = rank_of(truth[name], np.asarray(posterior[name]).ravel())
        rows.append(row)
    return pd.DataFrame(rows)


#: Coverage of the band of bin counts expected under uniformity (drawn with the histograms).
BAND_LEVEL = 0.99


def summarise(ranks: pd.DataFrame, parameters) -> dict:
    """Per parameter: the binned rank counts, the chi-square p-value, and the count expected in
    each bin under uniformity with its central :data:`BAND_LEVEL` binomial band."""
    replications = len(ranks)
    low, high = stats.binom.interval(BAND_LEVEL, replications, 1 / RANK_BINS)
    return {
        name: {
            "counts": rank_histogram(ranks[name]).tolist(),
            "p_value": uniformity_p_value(ranks[name]),
            "expected": replications / RANK_BINS,
            "band": [float(low), float(high)],
        }
        for name in parameters
    }
