"""Simulation-based calibration: the rank statistic and the uniformity test against brute force
and known distributions, and a few replications of each model's SBC (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nkreport.analysis import sbc


def test_rank_counts_thinned_draws_below_the_true_value():
    draws = np.arange(990, dtype=float)  # thinned every 10th: 0, 10, ..., 980
    assert sbc.rank_of(-1.0, draws) == 0
    assert sbc.rank_of(1e9, draws) == sbc.RANK_DRAWS
    assert sbc.rank_of(495.0, draws) == 50  # 0, 10, ..., 490


def test_rank_needs_enough_draws():
    with pytest.raises(ValueError, match="at least"):
        sbc.rank_of(0.0, np.zeros(10))


def test_binned_ranks_and_chi_square_match_a_direct_computation():
    rng = np.random.default_rng(1)
    ranks = rng.integers(0, sbc.RANK_DRAWS + 1, size=500)
    counts = sbc.rank_histogram(ranks)
    edges = np.arange(0, sbc.RANK_DRAWS + 2, (sbc.RANK_DRAWS + 1) // sbc.RANK_BINS)
    assert counts.tolist() == np.histogram(ranks, bins=edges)[0].tolist()
    expected = np.full(sbc.RANK_BINS, len(ranks) / sbc.RANK_BINS)
    statistic = ((counts - expected) ** 2 / expected).sum()
    assert sbc.uniformity_p_value(ranks) == pytest.approx(stats.chi2.sf(statistic, sbc.RANK_BINS - 1), rel=1e-12)


def test_a_miscalibrated_posterior_fails_the_uniformity_test():
    # a posterior too narrow by half: the truth falls in the extreme ranks too often
    rng = np.random.default_rng(2)
    ranks = []
    for _ in range(400):
        truth = rng.normal()
        draws = rng.normal(0.0, 0.5, size=990)
        ranks.append(sbc.rank_of(truth, draws))
    assert sbc.uniformity_p_value(ranks) < 1e-6


def test_prior_draws_follow_the_documented_priors():
    rng = np.random.default_rng(3)
    draws = [sbc.map_prior_draw(rng, 2) for _ in range(4000)]
    mu = np.array([d["mu"] for d in draws])
    tau = np.array([d["tau"] for d in draws])
    assert stats.kstest(mu, stats.norm(0, 2).cdf).pvalue > 1e-3
    assert stats.kstest(tau, stats.halfnorm(scale=1).cdf).pvalue > 1e-3


def test_the_map_model_with_counts_as_data_has_the_same_log_density():
    """SBC re-sets the counts of one compiled MAP model; that model is the book's model."""
    from nkreport.analysis import map_model

    events, sizes = [1, 3], [21, 26]
    fixed = map_model.build_map_model(events, sizes)
    settable = map_model.build_map_model([0, 0], sizes, events_as_data=True)
    import pymc as pm

    with settable:
        pm.set_data({"events_data": np.asarray(events)})
    point = fixed.initial_point()
    point = {k: v + 0.3 for k, v in point.items()}
    assert settable.compile_logp()(point) == pytest.approx(fixed.compile_logp()(point), rel=1e-12)


@pytest.mark.slow
def test_a_few_sbc_replications_of_each_model_run_and_give_valid_ranks():
    """The fast version of validation/sbc/run_sbc.py: it runs, and ranks lie in 0..RANK_DRAWS."""
    from nkreport.analysis import comparative

    ranks_map = sbc.sbc_map([21, 26], 3, seed=11)
    ranks_cmp = sbc.sbc_comparative(2, seed=12, evidence=comparative.build_evidence())
    for frame, names in ((ranks_map, sbc.MAP_PARAMETERS), (ranks_cmp, sbc.COMPARATIVE_PARAMETERS)):
        for name in names:
            assert frame[name].between(0, sbc.RANK_DRAWS).all()
        summary = sbc.summarise(frame, names)
        assert all(sum(s["counts"]) == len(frame) for s in summary.values())
