"""Glued values: text for prose, JSON for the results file."""

from __future__ import annotations

import json

import numpy as np

from nkreport.report import glue


def test_glued_value_bundle_carries_value_and_text():
    glued = glue.GluedValue("k", np.float64(0.25), "25.0 %")
    bundle = glued._repr_mimebundle_()
    assert bundle["text/plain"] == "25.0 %"
    assert json.loads(bundle[glue.RESULT_MIME]) == {"key": "k", "value": 0.25, "text": "25.0 %"}
    assert repr(glued) == "25.0 %"


def test_plain_converts_numpy():
    assert glue._plain({"a": np.int64(3), "b": (np.float32(0.5), np.nan)}) == {"a": 3, "b": [0.5, None]}


def test_formatters():
    nb = "\u202f"  # narrow no-break space: a line never starts with "%"
    assert glue.fmt_percent(6 / 19) == f"31.6{nb}%"
    assert glue.fmt_interval(0.1, 0.2, digits=0) == f"10{nb}% to 20{nb}%"
    assert glue.fmt_signed(-38.2) == "\u221238"


def test_typeset_joins_number_and_percent_and_uses_minus_signs():
    nb, minus = "\u202f", "\u2212"
    assert glue.typeset("34.2 % of 19; 95 % CI") == f"34.2{nb}% of 19; 95{nb}% CI"
    assert glue.typeset("10\u00a0%") == f"10{nb}%"
    assert glue.typeset("difference -3.4 (-7.1 to +1.2)") == f"difference {minus}3.4 ({minus}7.1 to +1.2)"
    # ranges, dates, identifiers and words are left alone
    for kept in ("10-40", "2008-2016", "e0313102-1", "COVID-19", "doi:10.1007/s10096-020-04074-5", "a -b", "% 5"):
        assert glue.typeset(kept) == kept


def test_collect_reads_glue_files(tmp_path):
    payload = json.dumps({"key": "x", "value": [1, 2], "text": "1 to 2"})
    (tmp_path / "ch.glue.json").write_text(
        json.dumps(
            {"x": {"data": {glue.RESULT_MIME: payload, "text/plain": "1 to 2"}}, "fig": {"data": {"image/png": "..."}}}
        )
    )
    collected = glue.collect({"book/ch": tmp_path / "ch.glue.json", "book/none": tmp_path / "missing.json"})
    assert collected == {"x": {"value": [1, 2], "text": "1 to 2", "chapter": "book/ch"}}


def test_mcmc_digits_follow_the_monte_carlo_error():
    from nkreport.report.glue import fmt_mcmc, mcmc_digits

    assert mcmc_digits(0.003) == 2  # 0.01 >= 2 x 0.003
    assert mcmc_digits(0.008) == 1  # 0.01 < 0.016
    assert mcmc_digits(0.04) == 1 and mcmc_digits(0.06) == 0
    assert mcmc_digits(0.0) == 2 and mcmc_digits(1e-9, max_digits=3) == 3
    assert fmt_mcmc(0.8049, 0.009) == "0.8" and fmt_mcmc(0.9812, 0.002) == "0.98"


def test_mcmc_odds_ratio_prints_each_figure_to_its_own_error():
    from nkreport.report.glue import fmt_mcmc_or

    # a median known to 0.003 keeps two decimals; a tail limit known to 0.03 keeps one, to 0.06 none
    errors = {"or_median": 0.003, "or_low": 0.004, "or_high": 0.03}
    assert fmt_mcmc_or(0.3214, 0.1107, 0.9123, errors) == "0.32 (0.11 to 0.9)"
    assert fmt_mcmc_or(0.6, 0.18, 1.85, {**errors, "or_high": 0.06}) == "0.60 (0.18 to 2)"
