r"""Outcome windows: how much a 90-day count of bloodstream infections exceeds a 30-day one.

The trial counted BSI within 30 days; the earlier untreated arms counted over 90 days or an
unstated window. Most BSIs after liver transplantation occur early: in a single-centre series
of 259 first-year episodes, 39.4 % occurred by day 10, 27.8 % on days 11-30 and 17 % on days
31-90 (Bert et al. 2010, doi:10.1002/lt.21991, abstract), so about 80 % of the 90-day episodes
fell within 30 days; in a series of 75 recipients every episode occurred within 60 days and
74 % within the first month (Transplant Proc 2012, doi:10.1016/j.transproceed.2012.06.055,
abstract). If a share :math:`s` of the patients with a BSI by day 90 had it by day 30, a 90-day
risk :math:`p` corresponds to a 30-day risk :math:`s p`, a log-odds gap of

.. math::

    g(p, s) = \operatorname{logit}(p) - \operatorname{logit}(s p).

Episodes are not patients (a patient with two episodes is counted twice), so these shares
are approximations of the share of patients; the book uses them to judge the window term's
prior, not as data.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit

#: Share of 90-day BSI episodes within 30 days: (67.2 %) / (67.2 % + 17 %) in Bert et al. 2010.
SHARE_WITHIN_30_BERT2010 = (39.4 + 27.8) / (39.4 + 27.8 + 17.0)
#: Share of (60-day) BSI episodes within the first month in the Rome series of 2012.
SHARE_WITHIN_30_ROME2012 = 0.74
#: The range of shares the text uses.
SHARE_WITHIN_30_RANGE = (SHARE_WITHIN_30_ROME2012, SHARE_WITHIN_30_BERT2010)


def log_odds_gap(risk_long, share_within_30) -> np.ndarray:
    """:math:`g(p, s)`: the log-odds by which a long-window risk ``risk_long`` exceeds the 30-day
    risk ``share_within_30 * risk_long``."""
    risk_long = np.asarray(risk_long, dtype=float)
    return logit(risk_long) - logit(np.asarray(share_within_30, dtype=float) * risk_long)
