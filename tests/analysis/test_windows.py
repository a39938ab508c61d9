"""The window gap against its closed form and the shares it is built from."""

from __future__ import annotations

import numpy as np
import pytest

from nkreport.analysis import windows


def test_the_shares_are_those_printed_in_the_abstracts():
    # Bert et al. 2010: 39.4 % (days 0-10), 27.8 % (11-30), 17 % (31-90) of first-year episodes
    assert windows.SHARE_WITHIN_30_BERT2010 == pytest.approx(67.2 / 84.2)
    assert windows.SHARE_WITHIN_30_ROME2012 == 0.74


@pytest.mark.parametrize("risk", [0.1, 0.286, 0.364, 0.6])
@pytest.mark.parametrize("share", [0.5, 0.74, 0.8, 1.0])
def test_log_odds_gap_closed_form(risk, share):
    short = share * risk
    expected = np.log(risk / (1 - risk)) - np.log(short / (1 - short))
    assert windows.log_odds_gap(risk, share) == pytest.approx(expected, abs=1e-12)


def test_gap_grows_as_fewer_infections_fall_within_30_days():
    gaps = windows.log_odds_gap(0.3, np.array([0.9, 0.8, 0.7, 0.6]))
    assert np.all(np.diff(gaps) > 0) and windows.log_odds_gap(0.3, 1.0) == pytest.approx(0.0)
