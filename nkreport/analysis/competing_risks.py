r"""Time to bloodstream infection with death as a competing risk, from patient-level records
(:mod:`nkreport.data.patient_level`): the competing-risks coding, the summary to the counts the
pooled analyses take (patients with BSI within a window, n), and the Aalen-Johansen cumulative
incidence (:class:`lifelines.AalenJohansenFitter`).

With event codes 0 (censored), 1 (BSI) and 2 (death before any BSI), the cumulative incidence of
BSI at day t is :math:`F_1(t) = \sum_{t_j \le t} S(t_{j-1}) \, d_{1j} / n_j`, where :math:`S` is
the Kaplan-Meier survival from either event, :math:`d_{1j}` the BSIs on day :math:`t_j` and
:math:`n_j` the patients at risk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import SEED

#: Event codes of the competing-risks coding.
CENSORED, BSI, DEATH = 0, 1, 2
#: On a day with both a BSI and a death (different patients), BSIs are counted first: deaths
#: on that day are moved this fraction of a day later (lifelines would otherwise jitter at random).
TIE_OFFSET = 1e-3


@dataclass(frozen=True)
class IpdSummary:
    """Counts for pooling: patients with BSI within ``window_days`` out of ``n``."""

    window_days: int
    events: int
    n: int
    deaths_before_bsi: int
    censored_before_window: int


def competing_risks_coding(ipd: pd.DataFrame) -> pd.DataFrame:
    """Per patient: ``time`` (days) and ``event`` (0 censored, 1 BSI, 2 death before any BSI).

    A BSI on the day of death counts as BSI. Across patients, deaths on a day with a BSI are
    moved :data:`TIE_OFFSET` of a day later, so BSIs on that day come first.
    """
    bsi = ipd["days_to_bsi"].astype("Float64")
    death = ipd["death_day"].astype("Float64")
    end = ipd["end_of_followup"].astype(float)
    has_bsi = bsi.notna().to_numpy(dtype=bool)
    died_first = (death.notna() & (bsi.isna() | (death < bsi))).to_numpy(dtype=bool)
    time = np.where(has_bsi, bsi.fillna(0).to_numpy(dtype=float), end.to_numpy())
    event = np.where(has_bsi, BSI, np.where(died_first, DEATH, CENSORED))
    time = np.where(died_first, death.fillna(0).to_numpy(dtype=float), time)
    bsi_days = set(time[event == BSI])
    time = np.where((event == DEATH) & np.isin(time, list(bsi_days)), time + TIE_OFFSET, time)
    return pd.DataFrame({"patient_id": ipd["patient_id"].to_numpy(), "time": time, "event": event.astype(int)})


def summarise(ipd: pd.DataFrame, window_days: int) -> IpdSummary:
    """Counts for pooling: BSI within ``window_days`` (day ≤ window) among all patients."""
    coded = competing_risks_coding(ipd)
    within = coded["time"] <= window_days
    return IpdSummary(
        window_days=int(window_days),
        events=int(((coded["event"] == BSI) & within).sum()),
        n=int(len(coded)),
        deaths_before_bsi=int(((coded["event"] == DEATH) & within).sum()),
        censored_before_window=int(((coded["event"] == CENSORED) & (coded["time"] < window_days)).sum()),
    )


def cumulative_incidence(ipd: pd.DataFrame, alpha: float = 0.05):
    """Aalen-Johansen cumulative incidence of BSI with death as a competing risk.

    Returns the fitted :class:`lifelines.AalenJohansenFitter` (``cumulative_density_`` and
    ``confidence_interval_`` indexed by day).
    """
    from lifelines import AalenJohansenFitter

    coded = competing_risks_coding(ipd)
    fitter = AalenJohansenFitter(alpha=alpha, seed=SEED)
    fitter.fit(coded["time"], coded["event"], event_of_interest=BSI, label="BSI")
    return fitter


def incidence_at(fitter, day: float) -> float:
    """The estimated cumulative incidence (a right-continuous step function) at ``day``."""
    curve = fitter.cumulative_density_.iloc[:, 0]
    before = curve[curve.index <= day]
    return float(before.iloc[-1]) if len(before) else 0.0


def incidence_interval_at(fitter, day: float) -> tuple[float, float]:
    """The pointwise confidence interval of the cumulative incidence at ``day`` (lifelines' delta method)."""
    bands = fitter.confidence_interval_
    before = bands[bands.index <= day].dropna()
    if not len(before):
        return 0.0, 0.0
    pair = before.iloc[-1].to_numpy(dtype=float)
    return float(pair.min()), float(pair.max())
