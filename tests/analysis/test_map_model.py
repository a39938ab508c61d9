"""The MAP model: data selection, the model's structure, seeded reproducibility, the gated fit."""

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytest

from nkreport import SEED, data, seed_for
from nkreport.analysis import map_model


@pytest.fixture(scope="module")
def bsi_studies():
    return map_model.earlier_studies(data.load_cohorts(), "bsi")


def test_selection_by_role_and_outcome(bsi_studies):
    assert list(bsi_studies["events"]) == [1, 3] and list(bsi_studies["n"]) == [21, 26]
    with pytest.raises(ValueError, match="no cohort rows"):
        map_model.earlier_studies(data.load_cohorts(), "hcc_recurrence", role="trial")


def test_new_cohort_rows_flow_in(bsi_studies):
    cohorts = data.load_cohorts()
    extra = cohorts[cohorts["cohort_id"] == "hiroshima2011_nk_bsi"].copy()
    extra["cohort_id"], extra["study"], extra["events"], extra["n"] = "new_nk_bsi", "New study", 5, 30
    studies = map_model.earlier_studies(pd.concat([cohorts, extra]), "bsi")
    assert len(studies) == len(bsi_studies) + 1
    sens = map_model.tau_sensitivity(studies, scales=(1.0,))
    base = map_model.tau_sensitivity(bsi_studies, scales=(1.0,))
    assert sens.loc[0, "mean"] != pytest.approx(base.loc[0, "mean"])


def test_tau_scale_is_data_and_can_be_reset_without_rebuilding():
    model = map_model.build_map_model([1, 3], [21, 26], tau_scale=1.0)
    tau_of = pytensor.function([model["tau_unit"]], model["tau"])  # compiled once
    assert tau_of(0.7) == pytest.approx(0.7)
    with model:
        pm.set_data({"tau_scale": 0.25})
    assert tau_of(0.7) == pytest.approx(0.175)


def test_seeds_are_derived_and_stable():
    assert seed_for("map_bsi") == seed_for("map_bsi")
    assert seed_for("map_bsi") != seed_for("map_rejection")
    assert seed_for("x") != SEED


@pytest.mark.slow
def test_two_runs_give_identical_draws():
    runs = []
    for _ in range(2):
        with map_model.build_map_model([1, 3], [21, 26]):
            idata = pm.sample(
                draws=100,
                tune=100,
                chains=2,
                cores=2,
                random_seed=seed_for("repro"),
                progressbar=False,
                compute_convergence_checks=False,
            )
        runs.append(np.asarray(idata.posterior["theta_new"]))
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.slow
def test_bsi_map_fit_is_gated_cached_and_agrees_with_quadrature(bsi_studies):
    fit = map_model.fit_map(bsi_studies, "map_bsi")
    assert fit.gate.max_rhat <= 1.01 and fit.gate.min_ess_bulk >= 1000 and fit.gate.divergences == 0
    assert fit.crosscheck["agrees"].all()
    assert map_model.fit_map(bsi_studies, "map_bsi") is fit
    summary = fit.summary()
    studies = summary.iloc[:-1]
    pooled = bsi_studies["events"].sum() / bsi_studies["n"].sum()
    # shrinkage: each study's estimate moves from its raw proportion towards the pooled one
    assert ((studies["mean"] - pooled).abs() <= (studies["raw"] - pooled).abs() + 0.02).all()
    new = summary.iloc[-1]
    assert new["high"] - new["low"] > (studies["high"] - studies["low"]).max()
    # with the quadrature, the MAP prior's row is the exact one (the arms stay MCMC)
    quad = map_model.map_quadrature(bsi_studies["events"], bsi_studies["n"])
    exact = fit.summary(quadrature=quad)
    assert exact.iloc[-1]["mean"] == pytest.approx(quad.predictive_mean)
    assert exact.iloc[-1]["high"] == pytest.approx(quad.predictive_quantile(0.975), rel=1e-5)
    assert exact.iloc[:-1].equals(summary.iloc[:-1])


def test_quadrature_map_prior_is_deterministic_and_close():
    cohorts = data.load_cohorts()
    first = map_model.map_prior(cohorts, "rejection", method="quadrature")
    assert first.fit is None
    assert first.max_cdf_difference < 0.03
    map_model._MAP_PRIORS.clear()
    second = map_model.map_prior(cohorts, "rejection", method="quadrature")
    assert second is not first and second.mixture == first.mixture
    with pytest.raises(ValueError):
        map_model.map_prior(cohorts, "rejection", method="guess")


def test_box_p_sweep_uses_the_count_pmf(bsi_studies):
    table = map_model.tau_sensitivity(bsi_studies, scales=(0.25, 1.0), trial=(6, 19))
    pmf = map_model.predictive_count_pmf(bsi_studies["events"], bsi_studies["n"], 19, tau_scale=0.25)
    assert table.loc[0, "box_p"] == pytest.approx(pmf[pmf <= pmf[6]].sum())
    # confident borrowing (small tau) makes the trial more surprising
    assert table.loc[0, "box_p"] < table.loc[1, "box_p"]


@pytest.mark.slow
def test_stored_fit_is_reused_across_processes_and_identical(bsi_studies, tmp_path, monkeypatch):
    monkeypatch.setenv(map_model.FIT_STORE_ENV, str(tmp_path))
    map_model.clear_cache()
    sampled = map_model.fit_map(bsi_studies, "map_bsi")
    assert len(list(tmp_path.glob("map_bsi-*.nc"))) == 1
    map_model.clear_cache()  # as in a new kernel
    loaded = map_model.fit_map(bsi_studies, "map_bsi")
    assert loaded is not sampled
    np.testing.assert_array_equal(
        np.asarray(loaded.idata.posterior["theta_new"]), np.asarray(sampled.idata.posterior["theta_new"])
    )
    assert loaded.gate == sampled.gate
    monkeypatch.setenv(map_model.FIT_STORE_ENV, "off")
    assert map_model._stored_fit_path(("map_bsi",)) is None


def test_earlier_studies_takes_several_roles():
    from nkreport import data

    cohorts = data.load_cohorts()
    both = map_model.earlier_studies(cohorts, "bsi", ("earlier_untreated", "external_baseline"))
    expected = cohorts[cohorts["role"].isin(["earlier_untreated", "external_baseline"]) & (cohorts["outcome"] == "bsi")]
    assert sorted(both["cohort_id"]) == sorted(expected["cohort_id"])
    assert len(map_model.earlier_studies(cohorts, "bsi", "earlier_untreated")) == 2
