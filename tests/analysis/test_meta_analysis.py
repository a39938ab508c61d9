"""Frequentist meta-analysis against independent references: statsmodels' combine_effects
(DerSimonian-Laird where its tau^2 is positive; Paule-Mandel and fixed effect), a brute-force
grid for REML, and scipy's hypergeometric moments for Peto."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from nkreport import data
from nkreport.analysis import comparative, meta_analysis

# heterogeneous synthetic log odds ratios (a TEST FIXTURE, not data)
Y = np.array([-1.2, 0.3, -0.8, 0.9, -1.6])
V = np.array([0.10, 0.15, 0.08, 0.20, 0.12])


def test_dersimonian_laird_matches_statsmodels_when_tau2_is_positive():
    result = meta_analysis.dersimonian_laird(Y, V)
    reference = combine_effects(Y, V, method_re="chi2")
    assert result["tau2"] > 0 and result["tau2"] == pytest.approx(reference.tau2, rel=1e-12)
    frame = reference.summary_frame()
    assert result["log_or"] == pytest.approx(frame.loc["random effect", "eff"], rel=1e-12)
    assert result["se"] == pytest.approx(frame.loc["random effect", "sd_eff"], rel=1e-12)


def test_dersimonian_laird_truncates_where_statsmodels_goes_negative():
    table = comparative.empirical_log_odds_ratios(comparative.build_evidence(data.load_cohorts()))
    y, v = table["log_or"].to_numpy(), table["variance"].to_numpy()
    with np.errstate(invalid="ignore"):
        reference = combine_effects(y, v, method_re="chi2")
        frame = reference.summary_frame()
    result = meta_analysis.dersimonian_laird(y, v)
    assert result["raw_tau2"] == pytest.approx(reference.tau2, rel=1e-12)
    if reference.tau2 < 0:
        fixed = frame.loc["fixed effect"]
        assert result["tau2"] == 0.0 and result["log_or"] == pytest.approx(fixed["eff"], rel=1e-12)
        assert (result["low"], result["high"]) == pytest.approx((fixed["ci_low"], fixed["ci_upp"]), rel=1e-9)


def test_reml_is_the_maximum_of_the_restricted_likelihood_on_a_grid():
    grid = np.linspace(0.0, 5.0, 200001)
    values = [meta_analysis.restricted_log_likelihood(Y, V, t) for t in grid[::50]]
    coarse = grid[::50][int(np.argmax(values))]
    fine = np.linspace(max(0, coarse - 0.01), coarse + 0.01, 20001)
    best = fine[int(np.argmax([meta_analysis.restricted_log_likelihood(Y, V, t) for t in fine]))]
    assert meta_analysis.reml(Y, V)["tau2"] == pytest.approx(best, abs=2e-6)


def test_reml_stays_on_the_boundary_for_homogeneous_studies():
    assert meta_analysis.reml([-1.0, -1.05], [0.5, 0.6])["tau2"] == 0.0


def test_peto_against_hypergeometric_moments():
    tables = [(1, 21, 6, 21), (3, 26, 20, 55), (0, 10, 2, 12)]
    oe = var = 0.0
    for a, n1, c, n0 in tables:
        dist = stats.hypergeom(n1 + n0, a + c, n1)  # population, successes, draws
        oe += a - dist.mean()
        var += dist.var()
    result = meta_analysis.peto(tables)
    assert result["log_or"] == pytest.approx(oe / var, rel=1e-12)
    assert result["se"] == pytest.approx(var**-0.5, rel=1e-12)


def test_frequentist_table_rows():
    table = meta_analysis.frequentist_table(Y, V, [(1, 21, 6, 21), (3, 26, 20, 55)])
    assert list(table["method"]) == ["DerSimonian-Laird", "REML", "Peto (fixed effect)"]
    assert (table["or_low"] < table["or"]).all() and (table["or"] < table["or_high"]).all()
