"""The influence of each cohort: the headline quantities with one study left out at a time,
computed without refitting any MCMC model.

Three quantities, each by an exact deterministic method the package already checks against
its MCMC fits:

* the **pooled odds ratio** of BSI with NK cells against none, and the probability that it is
  below 1, from the earlier comparative studies by the normal-normal model on their observed
  log odds ratios, integrated by quadrature (:func:`nkreport.analysis.comparative.normal_normal_quadrature`,
  the deterministic cross-check of chapter 8);
* the **MAP prior's mean**: the predictive mean of a new NK-treated arm's BSI risk from the
  earlier NK-treated arms, by quadrature (:func:`nkreport.analysis.map_model.map_quadrature`);
* the **trial's posterior risk**: the posterior mean of the trial's BSI risk under that exact
  MAP prior after its own events (:func:`nkreport.analysis.map_model.map_posterior_mean`).

A study that enters none of the three (an external baseline) leaves all of them unchanged; its
row says so rather than being dropped.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import comparative, map_model

#: Columns of :func:`leave_one_cohort_out`.
COLUMNS = (
    "left_out",
    "study_id",
    "roles",
    "comparative_studies",
    "pooled_or",
    "p_or_below_1",
    "map_studies",
    "map_mean",
    "trial_posterior_mean",
)


def headline_quantities(cohorts: pd.DataFrame, outcome: str = "bsi") -> dict:
    """The three headline quantities of ``cohorts`` (one set of rows, nothing left out).

    Returns
    -------
    dict
        ``comparative_studies`` and ``map_studies`` (how many studies enter each), ``pooled_or``
        (exp of the posterior mean log OR), ``p_or_below_1``, ``map_mean`` and
        ``trial_posterior_mean``; NaN where no study is left to compute a quantity from.
    """
    rows = cohorts[cohorts["outcome"] == outcome]
    out = {"comparative_studies": 0, "pooled_or": math.nan, "p_or_below_1": math.nan}
    if comparative.comparative_study_ids(rows, outcome):
        empirical = comparative.empirical_log_odds_ratios(comparative.build_evidence(rows, outcome))
        exact = comparative.normal_normal_quadrature(empirical["log_or"], empirical["variance"])
        out.update(
            comparative_studies=len(empirical),
            pooled_or=float(np.exp(exact["mean"])),
            p_or_below_1=float(exact["p_below_0"]),
        )
    has_treated = (rows["role"] == "earlier_treated").any()
    treated = map_model.earlier_studies(rows, outcome, "earlier_treated") if has_treated else rows.iloc[:0]
    trial = rows[rows["role"] == "trial"]
    out.update(map_studies=len(treated), map_mean=math.nan, trial_posterior_mean=math.nan)
    if len(treated):
        out["map_mean"] = map_model.map_quadrature(treated["events"], treated["n"]).predictive_mean
        if len(trial) == 1:
            out["trial_posterior_mean"] = map_model.map_posterior_mean(
                treated["events"], treated["n"], int(trial["events"].iloc[0]), int(trial["n"].iloc[0])
            )
    return out


def leave_one_cohort_out(cohorts: pd.DataFrame, outcome: str = "bsi") -> pd.DataFrame:
    """The headline quantities with all studies, then with each earlier or external study of
    ``outcome`` left out in turn (every arm of the study).

    Parameters
    ----------
    cohorts
        The cohort table (:func:`nkreport.data.load_cohorts`).
    outcome
        The outcome (default BSI).

    Returns
    -------
    pandas.DataFrame
        One row per study left out (the first, ``study_id`` None, leaves none out), columns
        :data:`COLUMNS`; ``roles`` lists the roles of the study's rows.
    """
    rows = cohorts[cohorts["outcome"] == outcome]
    earlier = rows[rows["role"] != "trial"]
    records = [{"left_out": "none (all studies)", "study_id": None, "roles": "", **headline_quantities(rows, outcome)}]
    for study_id, group in earlier.groupby("study_id", sort=True):
        records.append(
            {
                "left_out": group["study"].iloc[0],
                "study_id": study_id,
                "roles": ", ".join(sorted(group["role"].unique())),
                **headline_quantities(rows[rows["study_id"] != study_id], outcome),
            }
        )
    return pd.DataFrame(records, columns=list(COLUMNS))


def largest_shift(loo: pd.DataFrame, column: str) -> dict:
    """The study whose omission moves ``column`` most from its value with all studies:
    {study, study_id, value, all, shift}; shift NaN when no omission changes it."""
    base = float(loo[column].iloc[0])
    rest = loo.iloc[1:].assign(shift=lambda f: (f[column] - base).abs())
    if rest.empty or rest["shift"].isna().all():
        return {"study": None, "study_id": None, "value": math.nan, "all": base, "shift": math.nan}
    top = rest.loc[rest["shift"].idxmax()]
    return {
        "study": top["left_out"],
        "study_id": top["study_id"],
        "value": float(top[column]),
        "all": base,
        "shift": float(top[column] - base),
    }
