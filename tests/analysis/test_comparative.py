"""The comparative model: data selection, arm removal, closed-form and quadrature references,
the gated fits, and the conclusion's reading of glued values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.meta_analysis import combine_effects

from nkreport import data, paths
from nkreport.analysis import comparative
from nkreport.analysis.comparative import Setting
from nkreport.analysis.mcmc import ConvergenceError, GateReport
from nkreport.report import glue


@pytest.fixture(scope="module")
def evidence():
    return comparative.build_evidence()


def test_comparative_studies_found_from_data(evidence):
    assert evidence.comparative_ids == ["hiroshima2011", "shimizu2022"]
    assert evidence.trial_ids == ["ohira2025"]
    trial = evidence.arms[evidence.arms["role"] == "trial"].iloc[0]
    assert (trial["events"], trial["n"], trial["treated"]) == (6, 19, 1)
    # sensitivity-only rows (the matched Shimizu counts) stay out of the primary analysis
    assert "shimizu2022m" not in set(evidence.arms["study_id"])


def test_a_new_comparative_cohort_flows_in(evidence):
    cohorts = data.load_cohorts()
    pair = cohorts[cohorts["study_id"] == "hiroshima2011"].copy()
    pair["study_id"] = "newcentre"
    pair["cohort_id"] = pair["cohort_id"].str.replace("hiroshima2011", "newcentre")
    pair["study"] = "New centre"
    extended = comparative.build_evidence(pd.concat([cohorts, pair], ignore_index=True))
    assert extended.comparative_ids == ["hiroshima2011", "newcentre", "shimizu2022"]
    assert len(extended.arms) == len(evidence.arms) + 2
    # a study with only one of the two arms is not comparative
    assert comparative.comparative_study_ids(cohorts[cohorts["cohort_id"] != "shimizu2022_nk_bsi"]) == ["hiroshima2011"]


def test_arm_sizes_remove_arms_by_setting(evidence):
    arms = evidence.arms.set_index("cohort_id")

    def used(setting):
        return set(arms.index[comparative.arm_sizes(evidence, setting) > 0])

    main = used(Setting())
    assert main == {
        "hiroshima2011_control_bsi",
        "hiroshima2011_nk_bsi",
        "shimizu2022_control_bsi",
        "shimizu2022_nk_bsi",
        "ohira2025_bsi",
    }
    assert used(Setting(include_trial=False)) == main - {"ohira2025_bsi"}
    assert used(Setting(exclude_studies=("shimizu2022",))) == main - {"shimizu2022_control_bsi", "shimizu2022_nk_bsi"}
    assert used(Setting(exclude_windows="known_other")) == main - {"hiroshima2011_control_bsi", "hiroshima2011_nk_bsi"}
    assert used(Setting(exclude_windows="all_other")) == {"ohira2025_bsi"}
    assert used(Setting(include_external=True)) - main == {
        "lee2019_bsi",
        "kimsh2020_bsi",
        "kimsi2009_bsi",
        "kubo_osaka_bsi",
    }
    assert used(Setting(include_external=True, exclude_windows="all_other")) == {"ohira2025_bsi", "lee2019_bsi"}
    assert used(Setting(include_earlier_treated=False)) == {
        "hiroshima2011_control_bsi",
        "shimizu2022_control_bsi",
        "ohira2025_bsi",
    }
    values = comparative.setting_data(evidence, Setting(include_trial=False))
    assert values["arm_events"][list(arms.index).index("ohira2025_bsi")] == 0


def test_empirical_log_odds_ratios_match_statsmodels(evidence):
    empirical = comparative.empirical_log_odds_ratios(evidence).set_index("study_id")
    for study_id, (a, n1, c, n0) in {"hiroshima2011": (1, 21, 6, 21), "shimizu2022": (3, 26, 20, 55)}.items():
        table = Table2x2(np.array([[a, n1 - a], [c, n0 - c]]))
        assert empirical.loc[study_id, "log_or"] == pytest.approx(table.log_oddsratio)
        assert empirical.loc[study_id, "se"] == pytest.approx(table.log_oddsratio_se)


def test_quadrature_reduces_to_fixed_effect_inverse_variance():
    """With tau pinned near 0 and a flat prior on d, the posterior is the fixed-effect estimate."""
    y, v = np.array([-2.0, -1.2, -0.3]), np.array([1.3, 0.45, 0.2])
    exact = comparative.normal_normal_quadrature(y, v, effect_sd=1e4, tau_scale=1e-8)
    fixed = combine_effects(y, v, method_re="chi2")
    mean, se = float(fixed.mean_effect_fe), float(fixed.sd_eff_w_fe)
    assert exact["mean"] == pytest.approx(mean, abs=1e-6)
    assert exact["p_below_0"] == pytest.approx(stats.norm.cdf(0, mean, se), abs=1e-6)


def test_quadrature_matches_a_two_dimensional_grid():
    """The conditional-conjugate quadrature against brute-force integration over (d, tau)."""
    y, v = np.array([-2.0, -1.5]), np.array([1.28, 0.46])
    exact = comparative.normal_normal_quadrature(y, v, effect_sd=1.5, tau_scale=0.5)

    def joint(d, tau):
        like = np.prod(stats.norm.pdf(y, d, np.sqrt(v + tau**2)))
        return like * stats.norm.pdf(d, 0, 1.5) * stats.halfnorm.pdf(tau, scale=0.5)

    norm = integrate.dblquad(joint, 0, 6, -10, 10, epsabs=1e-12)[0]
    mean = integrate.dblquad(lambda d, t: d * joint(d, t), 0, 6, -10, 10, epsabs=1e-12)[0] / norm
    below = integrate.dblquad(joint, 0, 6, -10, 0, epsabs=1e-12)[0] / norm
    assert exact["mean"] == pytest.approx(mean, abs=1e-5)
    assert exact["p_below_0"] == pytest.approx(below, abs=1e-5)


def test_summaries_of_known_draws():
    draws = np.log(np.array([0.2, 0.4, 0.6, 0.9, 1.5]))
    s = comparative.summarise_log_or(draws, level=0.5)
    assert s["or_median"] == pytest.approx(0.6)
    assert s["p_or_below_1"] == pytest.approx(0.8)
    assert s["p_or_below_half"] == pytest.approx(0.4)


def test_model_structure(evidence):
    model = comparative.build_model(evidence, [Setting("a"), Setting("b", tau_scale=1.0)])
    assert model.coords["setting"] == ("a", "b")
    assert set(comparative.FREE_VARS) == {v.name for v in model.free_RVs}
    assert np.asarray(model["tau_scale"].get_value()).tolist() == [0.5, 1.0]


@pytest.mark.slow
def test_too_short_a_run_fails_the_gate(evidence):
    model = comparative.build_model(evidence, [Setting()])
    with pytest.raises(ConvergenceError, match="comparative"):
        comparative.sample(model, evidence, [Setting()], draws=60, tune=60)


@pytest.fixture(scope="module")
def main_fits(evidence):
    return comparative.fit_settings(evidence, comparative.main_settings(evidence))


@pytest.mark.slow
def test_main_fits_pass_the_gate_and_agree_with_the_normal_approximation(main_fits, evidence):
    for fit in main_fits.values():
        assert fit.gate.divergences == 0 and fit.gate.min_ess_bulk >= 1000
    empirical = comparative.empirical_log_odds_ratios(evidence)
    approx = comparative.normal_normal_quadrature(empirical["log_or"], empirical["variance"])
    without = main_fits["without_trial"].draws("pooled_log_or")
    # the binomial model and the normal approximation differ, but not by much with these counts
    assert np.mean(without) == pytest.approx(approx["mean"], abs=0.25)
    assert np.mean(without < 0) == pytest.approx(approx["p_below_0"], abs=0.05)


@pytest.mark.slow
def test_removed_trial_arm_contributes_nothing(main_fits):
    """Without its arm, the trial's effect is a fresh draw from the effect distribution, i.e.
    the same distribution as the effect in a new study."""
    fit = main_fits["without_trial"]
    trial, new = fit.trial_effect(), fit.draws("new_effect")
    for q in (0.1, 0.5, 0.9):
        assert np.quantile(trial, q) == pytest.approx(np.quantile(new, q), abs=0.12)
    assert stats.ks_2samp(trial, new).pvalue > 1e-3


@pytest.mark.slow
def test_trial_pulls_the_pooled_effect_towards_its_own(main_fits):
    with_trial = main_fits["with_trial"]
    trial_median = np.median(with_trial.trial_effect())
    pooled_with = np.median(with_trial.draws("pooled_log_or"))
    pooled_without = np.median(main_fits["without_trial"].draws("pooled_log_or"))
    assert min(pooled_without, trial_median) <= pooled_with <= max(pooled_without, trial_median)
    loo = comparative.leave_one_out(main_fits)
    assert set(loo["study_id"]) == {"hiroshima2011", "shimizu2022", "ohira2025"}


@pytest.mark.slow
def test_cross_check_quadrature_against_mcmc(evidence):
    check = comparative.cross_check(evidence)
    assert check["agree"], check
    assert check["mean_gap_in_mcse"] < 4 and check["p_gap_in_mcse"] < 4


# ---------------------------------------------------------------- the conclusion's plumbing


def _write_glue(folder, doc, values):
    path = folder.joinpath(*(doc + ".glue.json").split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        key: {"data": {glue.RESULT_MIME: json.dumps({"key": key, "value": v, "text": t}), "text/plain": t}}
        for key, (v, t) in values.items()
    }
    path.write_text(json.dumps(payload), encoding="utf-8")


def test_read_glued_reads_the_build_named_by_the_environment(tmp_path, monkeypatch):
    execute = tmp_path / "_build" / "jupyter_execute"
    _write_glue(execute, "book/08_comparative", {"cmp_x": (0.3, "0.30")})
    _write_glue(execute, "book/01_trial", {"trial_y": (19, "19")})
    monkeypatch.setenv(paths.BUILD_DIR_ENV, str(tmp_path / "_build"))
    found = glue.read_glued()
    assert found["cmp_x"] == {"value": 0.3, "text": "0.30", "chapter": "book/08_comparative"}
    assert glue.read_glued(["trial_y"]) == {"trial_y": {"value": 19, "text": "19", "chapter": "book/01_trial"}}
    with pytest.raises(KeyError, match="cmp_missing"):
        glue.read_glued(["cmp_x", "cmp_missing"])


def test_read_glued_falls_back_to_the_project_build(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.BUILD_DIR_ENV, raising=False)
    monkeypatch.setenv("NKREPORT_ROOT", str(tmp_path))
    assert paths.build_dir() == tmp_path / "_build"


def test_sphinx_hook_sets_the_build_dir(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from nkreport.build import extension

    monkeypatch.delenv(paths.BUILD_DIR_ENV, raising=False)
    extension.set_build_dir(SimpleNamespace(outdir=str(tmp_path / "_build" / "html")))
    import os

    assert os.environ[paths.BUILD_DIR_ENV] == str(tmp_path / "_build")


def test_fit_cache_reuses_only_an_identical_batch(evidence, tmp_path, monkeypatch):
    import xarray as xr

    monkeypatch.setenv(paths.BUILD_DIR_ENV, str(tmp_path / "_build"))
    calls = []

    def fake_sample(model, ev, settings, **kwargs):
        calls.append([s.label for s in settings])
        return {
            s.label: comparative.Fit(
                s,
                xr.Dataset({"pooled_log_or": (("chain", "draw"), np.full((2, 3), len(calls)))}),
                GateReport(s.label, 1.0, 2000.0, 2000.0, 0),
                ev,
            )
            for s in settings
        }

    monkeypatch.setattr(comparative, "sample", fake_sample)
    batch = [Setting("a"), Setting("b", tau_scale=1.0)]
    first = comparative.fit_settings(evidence, batch, cache=True)
    again = comparative.fit_settings(evidence, batch, cache=True)
    assert len(calls) == 1
    assert np.array_equal(again["b"].draws("pooled_log_or"), first["b"].draws("pooled_log_or"))
    assert again["b"].setting == batch[1] and again["a"].gate == GateReport("a", 1.0, 2000.0, 2000.0, 0)
    comparative.fit_settings(evidence, [Setting("a"), Setting("b", tau_scale=0.9)], cache=True)
    comparative.fit_settings(evidence, batch, cache=True, draws=10)
    assert len(calls) == 3
    comparative.fit_settings(evidence, batch)  # no cache: always samples
    assert len(calls) == 4


def _fit_with(baseline, effect):
    import xarray as xr

    dims = ("chain", "draw")
    posterior = xr.Dataset({"new_baseline": (dims, baseline), "new_effect": (dims, effect)})
    return comparative.Fit(Setting("x"), posterior, GateReport("x", 1.0, 2000.0, 2000.0, 0), None)


def test_predictive_tail_probability_closed_forms():
    from scipy.special import logit

    # every draw the same: the binomial tail itself
    fit = _fit_with(np.full((2, 50), logit(0.2)), np.zeros((2, 50)))
    constant = comparative.predictive_tail_probability(fit, 6, 19)
    assert constant["mcse"] == 0.0
    assert constant["p_at_least"] == pytest.approx(stats.binom.sf(5, 19, 0.2), abs=1e-12)
    # risks drawn from a Beta: the beta-binomial tail, within Monte Carlo error
    rng = np.random.default_rng(1)
    risk = rng.beta(3.0, 9.0, size=(2, 20000))
    fit = _fit_with(logit(risk) - 0.3, np.full((2, 20000), 0.3))
    result = comparative.predictive_tail_probability(fit, 6, 19)
    exact = stats.betabinom.sf(5, 19, 3.0, 9.0)
    assert abs(result["p_at_least"] - exact) < 4 * result["mcse"] and result["mcse"] < 0.005


def test_log_or_mcse_of_independent_draws_against_closed_forms():
    """For independent draws the Monte Carlo error of a proportion is the binomial standard error
    and that of a quantile sqrt(p (1 - p) / n) / f(q) (here normal), times OR on the OR scale."""
    rng = np.random.default_rng(20261202)
    draws = rng.normal(-1.0, 0.6, (4, 5000))
    errors = comparative.log_or_mcse(draws)
    n = draws.size
    p = float((draws < 0).mean())
    assert errors["p_or_below_1"] == pytest.approx(np.sqrt(p * (1 - p) / n), rel=0.15)
    density = stats.norm.pdf(-1.0, -1.0, 0.6)
    expected_median = np.exp(-1.0) * np.sqrt(0.25 / n) / density
    assert errors["or_median"] == pytest.approx(expected_median, rel=0.2)
    with pytest.raises(ValueError, match="chain, draw"):
        comparative.log_or_mcse(draws.reshape(-1))


@pytest.mark.slow
def test_summaries_carry_their_monte_carlo_errors_and_the_forest_shows_the_trial_unborrowed(main_fits, evidence):
    effects = comparative.effects_table(main_fits, ("with_trial", "without_trial"))
    for row in effects.itertuples():
        fit = main_fits[row.fit]
        quantity = {"pooled OR": "pooled", "OR in a new study": "predictive"}.get(row.quantity, "trial")
        expected = comparative.effect_mcse(fit)[quantity]
        assert row.mcse_or_high == pytest.approx(expected["or_high"]) and row.mcse_p_or_below_1 >= 0
    rows = comparative.forest_rows(main_fits, evidence)
    trial_rows = rows[rows["kind"] == "trial"]
    assert len(trial_rows) == 1 + ("trial_without_borrowing" in main_fits)
    if "trial_without_borrowing" in main_fits:
        unborrowed = trial_rows.iloc[-1]
        assert "no borrowing" in unborrowed["label"]
        assert unborrowed["median"] == pytest.approx(
            np.median(main_fits["trial_without_borrowing"].trial_effect())
        )
