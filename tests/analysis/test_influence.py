"""Leave-one-cohort-out headline quantities (``nkreport.analysis.influence``) against references
computed another way: a brute-force grid for the normal-normal pooled effect and importance
sampling from the prior for the MAP prior's mean and the trial's posterior risk."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from nkreport import data
from nkreport.analysis import comparative, influence, map_model


@pytest.fixture(scope="module")
def cohorts() -> pd.DataFrame:
    return data.load_cohorts()


@pytest.fixture(scope="module")
def loo(cohorts) -> pd.DataFrame:
    return influence.leave_one_cohort_out(cohorts).set_index("study_id", drop=False)


def grid_normal_normal(y, v, effect_sd, tau_scale):
    """Posterior mean of d and P(d < 0) on a 2-D grid over (d, tau), the study effects
    integrated out analytically: y_j ~ N(d, v_j + tau^2)."""
    d = np.linspace(-8, 8, 1601)[:, None]
    tau = np.linspace(1e-4, 12 * tau_scale, 1200)[None, :]
    log_post = stats.norm.logpdf(d, 0, effect_sd) + stats.halfnorm.logpdf(tau, scale=tau_scale)
    for yj, vj in zip(y, v, strict=True):
        log_post = log_post + stats.norm.logpdf(yj, d, np.sqrt(vj + tau**2))
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    return float((weight * d).sum()), float(weight[d[:, 0] < 0].sum())


def importance_map(events, n, trial=None, draws=2_000_000, seed=7):
    """The MAP model by importance sampling from its prior: the predictive mean of a new arm's
    risk and, with ``trial`` = (events, n), that arm's posterior mean after its own events."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, map_model.MU_SD, draws)
    tau = np.abs(rng.normal(0, map_model.TAU_SCALE, draws))
    log_w = np.zeros(draws)
    for e, k in zip(events, n, strict=True):
        log_w += stats.binom.logpmf(e, k, special.expit(mu + tau * rng.standard_normal(draws)))
    new = special.expit(mu + tau * rng.standard_normal(draws))
    if trial is not None:
        log_w += stats.binom.logpmf(trial[0], trial[1], new)
    w = np.exp(log_w - log_w.max())
    return float((w * new).sum() / w.sum())


def test_pooled_effect_left_out_against_a_grid(cohorts, loo):
    for study_id in ("hiroshima2011", "shimizu2022"):
        kept = cohorts[cohorts["study_id"] != study_id]
        empirical = comparative.empirical_log_odds_ratios(comparative.build_evidence(kept))
        mean, p_below = grid_normal_normal(
            empirical["log_or"], empirical["variance"], comparative.EFFECT_PRIOR_SD, comparative.TAU_SCALE
        )
        row = loo.loc[study_id]
        assert row["comparative_studies"] == 1
        assert math.log(row["pooled_or"]) == pytest.approx(mean, abs=2e-3)
        assert row["p_or_below_1"] == pytest.approx(p_below, abs=2e-3)


def test_map_mean_and_trial_risk_left_out_against_importance_sampling(cohorts, loo):
    trial = cohorts[(cohorts["role"] == "trial") & (cohorts["outcome"] == "bsi")].iloc[0]
    for study_id in (None, "hiroshima2011"):
        kept = cohorts if study_id is None else cohorts[cohorts["study_id"] != study_id]
        treated = map_model.earlier_studies(kept[kept["outcome"] == "bsi"], "bsi", "earlier_treated")
        row = loo.iloc[0] if study_id is None else loo.loc[study_id]
        assert row["map_mean"] == pytest.approx(importance_map(treated["events"], treated["n"]), abs=3e-3)
        reference = importance_map(treated["events"], treated["n"], (int(trial["events"]), int(trial["n"])))
        assert row["trial_posterior_mean"] == pytest.approx(reference, abs=3e-3)


def test_a_study_outside_the_three_models_changes_nothing(loo):
    baselines = loo[loo["roles"] == "external_baseline"]
    assert len(baselines) >= 1
    quantities = ["pooled_or", "p_or_below_1", "map_mean", "trial_posterior_mean"]
    for _, row in baselines.iterrows():
        assert row[quantities].tolist() == loo.iloc[0][quantities].tolist()


def test_no_comparative_study_left_gives_nan(cohorts):
    only_baselines = cohorts[cohorts["role"].isin(["external_baseline", "trial"])]
    out = influence.headline_quantities(only_baselines)
    assert out["comparative_studies"] == 0 and math.isnan(out["pooled_or"]) and math.isnan(out["map_mean"])


def test_largest_shift(loo):
    shift = influence.largest_shift(loo.reset_index(drop=True), "pooled_or")
    moved = (loo["pooled_or"] - loo["pooled_or"].iloc[0]).abs()
    assert shift["study_id"] == moved.idxmax() and shift["shift"] == pytest.approx(
        loo.loc[shift["study_id"], "pooled_or"] - loo["pooled_or"].iloc[0]
    )
