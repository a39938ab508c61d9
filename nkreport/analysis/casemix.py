"""Case-mix sensitivity: the BSI risk expected *without* NK cells in the trial's case mix.

The trial enrolled many ABO-incompatible recipients. With a published odds ratio for
ABO-incompatible transplantation, a historical BSI rate p_h observed in a population with an
(unknown) ABO-incompatible share s_h is split into the two strata: on the logit scale the
compatible risk is alpha and the incompatible risk alpha + log(OR), with alpha solving

    (1 - s_h) expit(alpha) + s_h expit(alpha + log OR) = p_h.

The risk expected in the trial's mix s_t is (1 - s_t) expit(alpha) + s_t expit(alpha + log OR).
The odds ratio is assumed constant across populations (no interaction); it is the only
adjustment made, so other differences in case mix are not captured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special

#: Shares of ABO-incompatible transplants assumed for the historical populations (the trial's
#: own share is added as the last column).
HISTORICAL_ABO_SHARES = (0.0, 0.1, 0.2)


def stratum_risks(historical_rate: float, historical_share: float, odds_ratio: float) -> tuple[float, float]:
    """Risks (compatible, incompatible) consistent with the historical rate and share."""
    if not 0 < historical_rate < 1:
        raise ValueError("historical rate must lie in (0, 1)")
    if not 0 <= historical_share <= 1:
        raise ValueError("historical share must lie in [0, 1]")
    log_or = np.log(odds_ratio)

    def mismatch(alpha: float) -> float:
        return (
            (1 - historical_share) * special.expit(alpha)
            + historical_share * special.expit(alpha + log_or)
            - historical_rate
        )

    alpha = optimize.brentq(mismatch, -40, 40, xtol=1e-13)
    return float(special.expit(alpha)), float(special.expit(alpha + log_or))


def expected_risk(historical_rate: float, historical_share: float, trial_share: float, odds_ratio: float) -> float:
    """BSI risk without NK expected in a population with ``trial_share`` ABO-incompatible."""
    compatible, incompatible = stratum_risks(historical_rate, historical_share, odds_ratio)
    return (1 - trial_share) * compatible + trial_share * incompatible


def casemix_table(
    historical_rates: dict[str, float], historical_shares, trial_share: float, odds_ratio: float
) -> pd.DataFrame:
    """Expected risk for each historical rate (rows) and historical ABO-incompatible share."""
    rows = []
    for name, rate in historical_rates.items():
        for share in historical_shares:
            rows.append(
                {
                    "historical": name,
                    "historical_rate": rate,
                    "historical_share": float(share),
                    "expected_risk": expected_risk(rate, float(share), trial_share, odds_ratio),
                }
            )
    return pd.DataFrame(rows)


#: The published odds ratio's confidence interval is not readable; its uncertainty is carried as
#: a plausible range from the odds ratio divided by this factor to it multiplied by it (a log
#: odds ratio known to within ±log 2, as wide as a 95 % interval from about a dozen events per arm).
ODDS_RATIO_RANGE_FACTOR = 2.0


def odds_ratio_range(odds_ratio: float, factor: float = ODDS_RATIO_RANGE_FACTOR) -> tuple[float, float]:
    """The plausible range (odds_ratio / factor, odds_ratio × factor) carried through the
    case-mix adjustment, symmetric on the log scale."""
    if not odds_ratio > 0 or not factor >= 1:
        raise ValueError("odds_ratio must be positive and factor at least 1")
    return odds_ratio / factor, odds_ratio * factor


def trial_abo_share(baseline: pd.DataFrame) -> tuple[int, int]:
    """(ABO-incompatible count, n) from the trial's baseline table."""
    row = baseline[baseline["characteristic"] == "ABO-incompatible"].iloc[0]
    return int(row["count"]), int(row["n"])


def abo_odds_ratio(risk_factors: pd.DataFrame) -> float:
    row = risk_factors[
        (risk_factors["factor"] == "ABO-incompatible transplantation") & (risk_factors["outcome"] == "bsi")
    ]
    return float(row["odds_ratio"].iloc[0])
