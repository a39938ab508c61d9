"""Sensitivity sweeps: one model for all settings, and each assumption moves what it should."""

from __future__ import annotations

import numpy as np
import pytest

from nkreport.analysis import comparative, sensitivity


def test_settings_are_unique_and_grouped():
    described = sensitivity.sensitivity_settings()
    labels = [s.label for _, _, s in described]
    assert len(labels) == len(set(labels))
    assert {g for g, _, _ in described} == set(sensitivity.GROUPS)
    assert described[0][2] == comparative.Setting("with_trial")
    assert sensitivity.key_of("tau_0.25") == "tau_0p25"


@pytest.fixture(scope="module")
def sweep():
    calls = []
    original = comparative.build_model

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    comparative.build_model = counting
    try:
        table, fits = sensitivity.run()
    finally:
        comparative.build_model = original
    return table.set_index("label"), fits, len(calls)


@pytest.mark.slow
def test_one_model_serves_every_setting(sweep):
    table, fits, builds = sweep
    assert builds == 1
    assert list(fits) == [s.label for s in sensitivity.book_settings(comparative.build_evidence())]
    assert set(table.index) <= set(fits) and table.loc["with_trial", "key"] == "main"
    assert all(f.gate.divergences == 0 for f in fits.values())


@pytest.mark.slow
def test_heterogeneity_prior_scale_moves_tau(sweep):
    table, fits, _ = sweep
    assert (
        table.loc["tau_0.25", "tau_median"] < table.loc["with_trial", "tau_median"] < table.loc["tau_1", "tau_median"]
    )
    # a wider heterogeneity prior makes a new study's effect less certain
    width = {k: fits[k].draws("new_effect").std() for k in ("tau_0.25", "tau_1")}
    assert width["tau_0.25"] < width["tau_1"]


@pytest.mark.slow
def test_window_settings_drop_the_right_studies(sweep):
    table, fits, _ = sweep
    assert table.loc["window_known_excluded", "comparative_studies"] == 1
    assert table.loc["window_all_excluded", "comparative_studies"] == 0
    # with no comparative study the pooled effect is near its prior: P(OR<1) near one half
    assert abs(table.loc["window_all_excluded", "pooled_p_or_below_1"] - 0.5) < 0.15
    # the window term is non-negative and informs nothing when every setting's scale is 0
    assert np.all(fits["window_term"].draws("window_effect") >= 0)
    assert np.all(fits["with_trial"].draws("window_effect") == 0)


@pytest.mark.slow
def test_relaxing_the_exchangeable_baseline_weakens_the_trial(sweep):
    table, fits, _ = sweep
    spread = {k: fits[k].draws("baseline", "ohira2025").std() for k in ("with_trial", "shift_0.5", "shift_1")}
    assert spread["with_trial"] < spread["shift_0.5"] < spread["shift_1"]
    # a less informative trial pulls the pooled effect less towards its own implied effect
    trial_main = np.median(fits["with_trial"].trial_effect())
    pooled = {k: np.median(fits[k].draws("pooled_log_or")) for k in ("with_trial", "shift_1")}
    assert abs(pooled["shift_1"] - trial_main) > abs(pooled["with_trial"] - trial_main)
    assert table.loc["external_baselines", "arms"] == table.loc["with_trial", "arms"] + 4


@pytest.mark.slow
def test_bias_and_directional_settings_move_what_they_should(sweep):
    table, fits, _ = sweep
    # the bias term is zero where the comparisons are taken at face value
    assert np.all(fits["with_trial"].draws("bias") == 0)
    assert fits["bias_prior_wide"].draws("bias").std() > fits["bias_prior"].draws("bias").std() > 0
    # a bias towards benefit removed: the pooled effect moves towards no effect
    assert table.loc["bias_prior", "pooled_or_median"] > table.loc["with_trial", "pooled_or_median"]
    assert table.loc["bias_prior", "pooled_p_or_below_1"] < table.loc["with_trial", "pooled_p_or_below_1"]
    # directional shifts of the trial's baseline carry their sign
    lower = fits["shift_lower"].draws("trial_baseline_shift").mean()
    higher = fits["shift_higher"].draws("trial_baseline_shift").mean()
    assert lower < 0 < higher
    # the adjusted analysis: the external baselines (with the 30-day rate) and a window term
    assert table.loc["adjusted", "arms"] == table.loc["external_baselines", "arms"]
    assert np.all(fits["adjusted"].draws("window_effect") >= 0)
