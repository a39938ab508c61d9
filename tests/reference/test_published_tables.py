"""Results against published tables: Simon's optimal and minimax two-stage designs (1989) and
Newcombe's single-proportion (1998a) and risk-difference (1998b) intervals."""

import pytest

from nkreport.analysis import design, endpoints

# Simon R. Optimal two-stage designs for phase II clinical trials. Controlled Clinical Trials
# 1989;10:1-10, Table 1 (response rates p0, p1; designs as r1/n1, r/n; EN(p0)):
SIMON_TABLE_1 = [
    # (p0, p1, alpha, beta, kind, r1, n1, r, n, EN0)
    (0.05, 0.25, 0.05, 0.20, "optimal", 0, 9, 2, 17, 12.0),
    (0.05, 0.25, 0.05, 0.20, "minimax", 0, 12, 2, 16, 13.8),
    (0.05, 0.25, 0.10, 0.10, "optimal", 0, 9, 2, 24, 14.5),
    (0.05, 0.25, 0.10, 0.10, "minimax", 0, 13, 2, 20, 16.4),
    (0.10, 0.30, 0.05, 0.20, "optimal", 1, 10, 5, 29, 15.0),
    (0.10, 0.30, 0.05, 0.20, "minimax", 1, 15, 5, 25, 19.5),
    (0.20, 0.40, 0.05, 0.20, "optimal", 3, 13, 12, 43, 20.6),
    (0.20, 0.40, 0.05, 0.20, "minimax", 4, 18, 10, 33, 22.3),
    (0.30, 0.50, 0.05, 0.20, "optimal", 5, 15, 18, 46, 23.6),
    (0.30, 0.50, 0.05, 0.20, "minimax", 6, 19, 16, 39, 25.7),
]


@pytest.mark.parametrize("p0, p1, alpha, beta, kind, r1, n1, r, n, en0", SIMON_TABLE_1)
def test_simon_designs_match_published_table(p0, p1, alpha, beta, kind, r1, n1, r, n, en0):
    found = design.simon_designs(p0, p1, alpha, beta, n_max=60)[kind]
    assert (found.r1, found.n1, found.r, found.n) == (r1, n1, r, n)
    assert found.en0 == pytest.approx(en0, abs=0.05)


# Newcombe (1998), Stat Med 17:857-872, Table I (four examples, 95 % intervals, 4 decimals):
# method "Clopper-Pearson", "mid-p" and "score (Wilson)".
NEWCOMBE_SINGLE = [
    (81, 263, "clopper_pearson", 0.2527, 0.3676),
    (81, 263, "mid_p", 0.2544, 0.3658),
    (81, 263, "wilson", 0.2553, 0.3662),
    (15, 148, "clopper_pearson", 0.0578, 0.1617),
    (15, 148, "mid_p", 0.0601, 0.1581),
    (15, 148, "wilson", 0.0624, 0.1605),
    (0, 20, "clopper_pearson", 0.0, 0.1684),
    (0, 20, "mid_p", 0.0, 0.1391),
    (0, 20, "wilson", 0.0, 0.1611),
    (1, 29, "clopper_pearson", 0.0009, 0.1776),
    (1, 29, "mid_p", 0.0017, 0.1585),
    (1, 29, "wilson", 0.0061, 0.1718),
]


@pytest.mark.parametrize("events, n, method, low, high", NEWCOMBE_SINGLE)
def test_intervals_against_newcombe_1998_table(events, n, method, low, high):
    table = endpoints.binomial_intervals(events, n).set_index("method")
    assert table.loc[method, "low"] == pytest.approx(low, abs=6e-5)
    assert table.loc[method, "high"] == pytest.approx(high, abs=6e-5)


# Newcombe (1998), Stat Med 17:873-890, Table II, method 10 (hybrid score, no continuity correction).
NEWCOMBE_DIFF = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0)),
]


@pytest.mark.parametrize("counts, expected", NEWCOMBE_DIFF)
def test_newcombe_difference_against_published_table(counts, expected):
    result = endpoints.two_sample_comparison(*counts)
    assert (result["rd_low"], result["rd_high"]) == pytest.approx(expected, abs=6e-5)
