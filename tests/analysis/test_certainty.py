"""GRADE-style ratings against the rules written out by hand (GRADE: start, one level per
serious concern, two per very serious, floor at very low)."""

from __future__ import annotations

import itertools

import pytest

from nkreport.analysis import certainty
from nkreport.analysis.certainty import Judgement


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (0.1, 0.9, "not serious"),
        (1.1, 3.0, "not serious"),
        (0.5, 1.2, "serious"),
        (0.8, 2.0, "serious"),
        (0.18, 1.85, "very serious"),
        (0.69, 1.44, "very serious"),
        (0.7, 1.43, "serious"),
    ],
)
def test_imprecision_against_the_thresholds(low, high, expected):
    assert certainty.imprecision(low, high).concern == expected


def test_the_harm_threshold_is_the_reciprocal_of_the_benefit_threshold():
    assert certainty.APPRECIABLE_HARM_OR * certainty.IMPORTANT_BENEFIT_OR == pytest.approx(1.0)


def test_every_combination_of_downgrades_by_brute_force():
    levels = ["high", "moderate", "low", "very low"]
    concerns = ["not serious", "serious", "very serious"]
    for start in levels:
        for combination in itertools.product(concerns, repeat=len(certainty.DOMAINS)):
            judgements = [Judgement(d, c, "r") for d, c in zip(certainty.DOMAINS, combination, strict=True)]
            lost = combination.count("serious") + 2 * combination.count("very serious")
            expected = levels[min(levels.index(start) + lost, 3)]
            assert certainty.rate(start, judgements) == expected


def test_inconsistency_and_small_arms():
    assert certainty.inconsistency(0.01, "check").concern == "serious"
    assert certainty.inconsistency(0.2, "check").concern == "not serious"
    assert certainty.imprecision_of_a_rate(0, 19, 0.146).concern == "very serious"
    assert certainty.imprecision_of_a_rate(40, 300).concern == "serious"


def test_bad_ratings_are_refused():
    with pytest.raises(ValueError, match="unknown domain"):
        Judgement("bias", "serious", "r")
    with pytest.raises(ValueError, match="unknown concern"):
        Judgement("imprecision", "grave", "r")
    with pytest.raises(ValueError, match="rated twice"):
        certainty.rate("low", [Judgement("imprecision", "serious", "a"), Judgement("imprecision", "serious", "b")])
    with pytest.raises(ValueError, match="not ordered"):
        certainty.imprecision(2.0, 1.0)
    assert "no serious concern" == certainty.reasons([Judgement("imprecision", "not serious", "r")])


def test_imprecision_quotes_the_interval_as_printed():
    # the reason repeats the interval as the table prints it (MCMC limits to their own digits)
    judgement = certainty.imprecision(0.18, 1.91, "0.2 to 1.9")
    assert judgement.concern == "very serious" and "the interval 0.2 to 1.9 includes" in judgement.reason
    assert "0.18 to 1.91" in certainty.imprecision(0.18, 1.91).reason
