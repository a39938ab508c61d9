"""The comparative effect of NK cells on bloodstream infection: an arm-based random-effects model.

Every study contributes arms (events of n) to one hierarchical logistic model:

* each study ``s`` has a baseline log-odds of BSI without NK cells,
  ``baseline_s = m + sigma * z_s`` (plus, optionally, a shift for the trial and a term for
  outcome windows other than 30 days), exchangeable across studies;
* each study has its own NK effect on the log-odds scale (the log odds ratio),
  ``effect_s = d + tau * u_s``; ``d`` is the pooled log-OR and ``tau`` the heterogeneity;
* an untreated arm has ``logit p = baseline_s``, an NK arm ``logit p = baseline_s + effect_s``;
* optionally, the earlier comparisons are observational and may be biased: their NK arms have
  ``logit p = baseline_s + effect_s + beta`` with one bias ``beta ~ N(bias_mean, bias_sd^2)``
  shared by all of them (Turner et al. 2009; Welton et al. 2009), so ``effect_s`` and ``d``
  are the effects free of that bias. The trial's effect carries no such term (it has no
  untreated arm; its own weak point is the baseline, relaxed by the shift).

The earlier comparative studies (a study with both an ``earlier_treated`` and an
``earlier_untreated`` arm for the outcome) are found from the data, so a new cohort file flows
in without code changes. The single-arm trial has an NK arm only: its baseline is drawn from
the same distribution as the untreated arms (the *exchangeable-baseline* assumption), so its
effect is identified only through that assumption. External baselines (``external_baseline``
rows) can join the baseline distribution as a sensitivity analysis.

The model is built once per data set; everything a sweep changes (which arms count, prior
scales) is a ``pm.Data`` container. An arm is removed by setting its ``n`` to 0 (a binomial
with ``n = 0`` contributes nothing to the likelihood), which keeps every shape fixed. All
parametrisations are non-centred, and every fit passes :func:`nkreport.analysis.mcmc.assert_converged`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import integrate, stats
from scipy.special import expit, logit

from .. import data, seed_for
from . import fit_store
from .mcmc import CROSSCHECK_TOLERANCE_MCSE, GateReport, Sampling, assert_converged

if TYPE_CHECKING:
    import pymc as pm

#: Priors of the main analysis (log-odds scale).
BASELINE_PRIOR_MEAN = float(logit(0.2))
BASELINE_PRIOR_SD = 1.5
BASELINE_SD_SCALE = 1.0
EFFECT_PRIOR_SD = 1.5
TAU_SCALE = 0.5
#: The outcome window of the trial's primary endpoint, days.
PRIMARY_WINDOW_DAYS = 30

#: Sampling settings (4 chains, as R-hat is designed for, in every gate). target_accept 0.95 gave
#: more ESS per draw than 0.98 for the face-value settings, but with the bias and
#: directional-shift settings in the batch
#: (a bias prior of SD 0.7 leaves the pooled effect and the bias weakly separated) it let 1-2
#: divergent transitions through; 0.98 has none, at about 1.5 times the sampling time.
#: 4 chains of 1250 draws (2 chains of 2500 before) keep every setting's bulk and tail ESS above the gate.
#: 500 tuning steps adapt as well as 1000 for this model (same ESS, no divergences).
#: The PyTensor backend is numba: it cuts the per-step cost several-fold (its compiled code is
#: cached on disk, so only the first run pays the compilation).
SAMPLING = Sampling(draws=1250, tune=500, chains=4, target_accept=0.98, compile_mode="NUMBA")
#: Draws per chain of the normal-normal cross-check (its tail ESS needs more than the batch's).
CROSSCHECK_DRAWS = 1500

#: The free random variables (the gate checks these; deterministic scalings of an unused
#: term are constant and have no R-hat).
FREE_VARS = [
    "baseline_mean",
    "baseline_sd",
    "baseline_z",
    "pooled_log_or",
    "tau_raw",
    "effect_z",
    "shift_z",
    "window_raw",
    "new_effect_z",
    "new_baseline_z",
    "bias_z",
]


@dataclass
class Evidence:
    """The arms the model sees, one row each, and the studies they belong to."""

    studies: pd.DataFrame  # study_id, study, kind (comparative|trial|baseline), window_days, long_window
    arms: pd.DataFrame  # cohort_id, study_id, study_index, treated, events, n, role, window_days
    outcome: str = "bsi"

    @property
    def comparative_ids(self) -> list[str]:
        return self.studies.loc[self.studies["kind"] == "comparative", "study_id"].tolist()

    @property
    def trial_ids(self) -> list[str]:
        return self.studies.loc[self.studies["kind"] == "trial", "study_id"].tolist()


def comparative_study_ids(cohorts: pd.DataFrame, outcome: str = "bsi") -> list[str]:
    """Studies with both an earlier NK-treated and an earlier untreated arm for ``outcome``."""
    rows = cohorts[cohorts["outcome"] == outcome]
    treated = set(rows.loc[rows["role"] == "earlier_treated", "study_id"])
    untreated = set(rows.loc[rows["role"] == "earlier_untreated", "study_id"])
    return sorted(treated & untreated)


def _long_window(window_days) -> int:
    """1 if the outcome window is not the trial's 30 days (or is not stated), else 0."""
    return int(pd.isna(window_days) or int(window_days) != PRIMARY_WINDOW_DAYS)


def build_evidence(cohorts: pd.DataFrame | None = None, outcome: str = "bsi") -> Evidence:
    """Collect the comparative studies, the trial and the external baselines for ``outcome``.

    ``cohorts`` defaults to ``data.load_cohorts(use='primary')``.
    """
    if cohorts is None:
        cohorts = data.load_cohorts(use="primary")
    rows = cohorts[cohorts["outcome"] == outcome]
    comparative = comparative_study_ids(cohorts, outcome)
    if not comparative:
        raise ValueError(f"no study has both an earlier NK-treated and an untreated arm for {outcome!r}")
    pieces = [
        (
            "comparative",
            rows[rows["study_id"].isin(comparative) & rows["role"].isin(["earlier_treated", "earlier_untreated"])],
        ),
        ("trial", rows[rows["role"] == "trial"]),
        ("baseline", rows[(rows["role"] == "external_baseline") & ~rows["study_id"].isin(comparative)]),
    ]
    arm_rows, study_rows = [], []
    for kind, part in pieces:
        for study_id, group in part.groupby("study_id", sort=True):
            index = len(study_rows)
            windows = group["window_days"].dropna().unique()
            window = int(windows.max()) if len(windows) else pd.NA
            study_rows.append(
                {
                    "study_id": study_id,
                    "study": group["study"].iloc[0],
                    "kind": kind,
                    "window_days": window,
                    "long_window": _long_window(window),
                }
            )
            for row in group.sort_values("arm").itertuples():
                arm_rows.append(
                    {
                        "cohort_id": row.cohort_id,
                        "study_id": study_id,
                        "study_index": index,
                        "treated": int(row.arm == "nk"),
                        "events": int(row.events),
                        "n": int(row.n),
                        "role": row.role,
                        "window_days": row.window_days,
                    }
                )
    studies = pd.DataFrame(study_rows)
    studies["window_days"] = studies["window_days"].astype("Int64")
    return Evidence(studies, pd.DataFrame(arm_rows), outcome)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Setting:
    """Which arms count and the prior scales of one fit; the model stays the same."""

    label: str = "main"
    include_trial: bool = True
    include_external: bool = False
    include_earlier_treated: bool = True  # False: the effect is learnt from the trial alone
    exclude_studies: tuple[str, ...] = ()
    tau_scale: float = TAU_SCALE
    shift_scale: float = 0.0  # prior sd of a shift of the trial's baseline (0 = exchangeable)
    shift_mean: float = 0.0  # prior mean of that shift (a directional departure; log-odds)
    window_scale: float = 0.0  # half-normal scale of the log-odds increase for windows ≠ 30 days
    exclude_windows: str = "none"  # none | known_other (drop known windows ≠ 30) | all_other
    #: Additive bias shared by the earlier (observational) comparisons' log odds ratios,
    #: beta ~ N(bias_mean, bias_sd^2); 0, 0 takes them at face value.
    bias_mean: float = 0.0
    bias_sd: float = 0.0
    #: The study this setting leaves out to show its influence (None: not a leave-one-out
    #: setting). Kept out of repr and comparison, so the seeds and stored fits do not change.
    left_out: str | None = field(default=None, repr=False, compare=False)


def arm_sizes(evidence: Evidence, setting: Setting) -> np.ndarray:
    """Each arm's n under ``setting`` (0 removes the arm from the likelihood)."""
    arms = evidence.arms
    kinds = evidence.studies["kind"].to_numpy()[arms["study_index"].to_numpy()]
    keep = np.ones(len(arms), dtype=bool)
    if not setting.include_trial:
        keep &= kinds != "trial"
    if not setting.include_external:
        keep &= kinds != "baseline"
    if not setting.include_earlier_treated:
        keep &= (arms["role"] != "earlier_treated").to_numpy()
    keep &= ~arms["study_id"].isin(setting.exclude_studies).to_numpy()
    window = arms["window_days"]
    if setting.exclude_windows == "known_other":
        keep &= ~(window.notna() & (window != PRIMARY_WINDOW_DAYS)).fillna(False).to_numpy(dtype=bool)
    elif setting.exclude_windows == "all_other":
        keep &= (window.notna() & (window == PRIMARY_WINDOW_DAYS)).fillna(False).to_numpy(dtype=bool)
    elif setting.exclude_windows != "none":
        raise ValueError(f"unknown exclude_windows {setting.exclude_windows!r}")
    return np.where(keep, arms["n"].to_numpy(), 0).astype("int64")


def setting_data(evidence: Evidence, setting: Setting) -> dict:
    """The values of the model's ``pm.Data`` containers for ``setting``."""
    n = arm_sizes(evidence, setting)
    events = np.where(n > 0, evidence.arms["events"].to_numpy(), 0).astype("int64")
    return {
        "arm_n": n,
        "arm_events": events,
        "tau_scale": float(setting.tau_scale),
        "shift_scale": float(setting.shift_scale),
        "window_scale": float(setting.window_scale),
        "shift_mean": float(setting.shift_mean),
        "bias_mean": float(setting.bias_mean),
        "bias_sd": float(setting.bias_sd),
    }


# --------------------------------------------------------------------------- model


def batch_data(evidence: Evidence, settings: list[Setting]) -> dict:
    """The ``pm.Data`` values of a batch of settings (one row per setting)."""
    rows = [setting_data(evidence, s) for s in settings]
    return {key: np.stack([np.asarray(r[key]) for r in rows]) for key in rows[0]}


def build_model(evidence: Evidence, settings: list[Setting] | None = None) -> pm.Model:
    """The arm-based random-effects model, one independent copy per setting of a batch.

    The copies share nothing, so sampling them together gives each setting's own posterior;
    the settings enter only through ``pm.Data`` (arm sizes and prior scales), so the same model
    serves any batch of the same size without being rebuilt. Non-centred throughout.
    """
    import pymc as pm  # imported when first needed: chapters that read stored fits skip PyMC

    settings = settings or [Setting()]
    values = batch_data(evidence, settings)
    studies, arms = evidence.studies, evidence.arms
    is_trial = (studies["kind"] == "trial").to_numpy(dtype=float)
    is_observational = (studies["kind"] == "comparative").to_numpy(dtype=float)
    long_window = studies["long_window"].to_numpy(dtype=float)
    coords = {
        "setting": [s.label for s in settings],
        "study": studies["study_id"].tolist(),
        "arm": arms["cohort_id"].tolist(),
    }
    with pm.Model(coords=coords) as model:
        arm_n = pm.Data("arm_n", values["arm_n"], dims=("setting", "arm"))
        arm_events = pm.Data("arm_events", values["arm_events"], dims=("setting", "arm"))
        tau_scale = pm.Data("tau_scale", values["tau_scale"], dims="setting")
        shift_scale = pm.Data("shift_scale", values["shift_scale"], dims="setting")
        window_scale = pm.Data("window_scale", values["window_scale"], dims="setting")
        shift_mean = pm.Data("shift_mean", values["shift_mean"], dims="setting")
        bias_mean = pm.Data("bias_mean", values["bias_mean"], dims="setting")
        bias_sd = pm.Data("bias_sd", values["bias_sd"], dims="setting")

        baseline_mean = pm.Normal("baseline_mean", BASELINE_PRIOR_MEAN, BASELINE_PRIOR_SD, dims="setting")
        baseline_sd = pm.HalfNormal("baseline_sd", BASELINE_SD_SCALE, dims="setting")
        baseline_z = pm.Normal("baseline_z", 0.0, 1.0, dims=("setting", "study"))
        pooled = pm.Normal("pooled_log_or", 0.0, EFFECT_PRIOR_SD, dims="setting")
        tau_raw = pm.HalfNormal("tau_raw", 1.0, dims="setting")
        tau = pm.Deterministic("tau", tau_scale * tau_raw, dims="setting")
        effect_z = pm.Normal("effect_z", 0.0, 1.0, dims=("setting", "study"))
        shift_z = pm.Normal("shift_z", 0.0, 1.0, dims="setting")
        window_raw = pm.HalfNormal("window_raw", 1.0, dims="setting")
        bias_z = pm.Normal("bias_z", 0.0, 1.0, dims="setting")
        shift = pm.Deterministic("trial_baseline_shift", shift_mean + shift_scale * shift_z, dims="setting")
        bias = pm.Deterministic("bias", bias_mean + bias_sd * bias_z, dims="setting")
        window_effect = pm.Deterministic("window_effect", window_scale * window_raw, dims="setting")

        baseline = pm.Deterministic(
            "baseline",
            baseline_mean[:, None]
            + baseline_sd[:, None] * baseline_z
            + shift[:, None] * is_trial[None, :]
            + window_effect[:, None] * long_window[None, :],
            dims=("setting", "study"),
        )
        effect = pm.Deterministic("effect", pooled[:, None] + tau[:, None] * effect_z, dims=("setting", "study"))
        study_index = arms["study_index"].to_numpy()
        treated = arms["treated"].to_numpy(dtype=float)
        # what an observational comparison sees: the true effect plus the shared bias
        observed_effect = effect + bias[:, None] * is_observational[None, :]
        pm.Binomial(
            "events",
            n=arm_n,
            logit_p=baseline[:, study_index] + treated[None, :] * observed_effect[:, study_index],
            observed=arm_events,
            dims=("setting", "arm"),
        )

        new_effect_z = pm.Normal("new_effect_z", 0.0, 1.0, dims="setting")
        new_baseline_z = pm.Normal("new_baseline_z", 0.0, 1.0, dims="setting")
        pm.Deterministic("new_effect", pooled + tau * new_effect_z, dims="setting")
        pm.Deterministic("new_baseline", baseline_mean + baseline_sd * new_baseline_z, dims="setting")
    return model


@dataclass
class Fit:
    """The posterior of one setting."""

    setting: Setting
    posterior: object  # xarray Dataset (chain, draw, ...)
    gate: GateReport
    evidence: Evidence = field(repr=False)

    def draws(self, name: str, study: str | None = None) -> np.ndarray:
        values = self.posterior[name]
        if study is not None:
            values = values.sel(study=study)
        return np.asarray(values).reshape(-1)

    def trial_effect(self) -> np.ndarray:
        return self.draws("effect", self.evidence.trial_ids[0])


def sample(
    model: pm.Model,
    evidence: Evidence,
    settings: list[Setting],
    *,
    draws: int = SAMPLING.draws,
    tune: int = SAMPLING.tune,
    seed: int | None = None,
) -> dict[str, Fit]:
    """Set the model's data to a batch of settings, sample once with NUTS, gate every setting."""
    import arviz as az
    import pymc as pm

    labels = [s.label for s in settings]
    if len(set(labels)) != len(labels):
        raise ValueError(f"setting labels must be unique: {labels}")
    seed = seed if seed is not None else seed_for("comparative|" + "|".join(repr(s) for s in settings))
    with model:
        pm.set_data(batch_data(evidence, settings), coords={"setting": labels})
        idata = pm.sample(random_seed=seed, **replace(SAMPLING, draws=draws, tune=tune).kwargs())
    fits = {}
    for label, setting in zip(labels, settings, strict=False):
        block = az.InferenceData(posterior=idata.posterior.sel(setting=label), sample_stats=idata.sample_stats)
        report = assert_converged(block, f"comparative[{label}]", var_names=FREE_VARS)
        fits[label] = Fit(setting, block.posterior, report, evidence)
    return fits


def fit_settings(evidence: Evidence, settings: list[Setting], *, cache: bool = False, **kwargs) -> dict[str, Fit]:
    """Build the model for a batch of settings and sample it once.

    With ``cache=True`` the gated posteriors are kept in the build folder
    (``<build>/nkreport_cache``) under a key that hashes everything the result depends on: the
    arms, the settings, the sampling arguments, the source of this module and of the gate, and
    the PyMC version. A later chapter of the same build asking for the same batch (or a rebuild
    with nothing changed) reuses them; any change gives a new key and a new fit.
    """
    if not cache:
        return sample(build_model(evidence, settings), evidence, settings, **kwargs)
    path = _cache_path(evidence, settings, kwargs)
    if path is None:
        return sample(build_model(evidence, settings), evidence, settings, **kwargs)
    if path.exists():
        return _from_stored(fit_store.load(path), settings, evidence)
    fits = sample(build_model(evidence, settings), evidence, settings, **kwargs)
    fit_store.save(path, _to_stored(fits))
    return fits


#: Attribute of a stored batch's posterior that holds every setting's gate report (JSON).
_GATES_ATTR = "nkreport_gate_reports"


def _to_stored(fits: dict[str, Fit]):
    """A batch of fits as one InferenceData: the posteriors along ``setting``, the gate reports
    in the posterior's attributes."""
    import arviz as az
    import xarray as xr

    labels = list(fits)
    posterior = xr.concat([fits[label].posterior for label in labels], dim="setting")
    posterior = posterior.assign_coords(setting=labels)
    posterior.attrs[_GATES_ATTR] = json.dumps({label: fits[label].gate.as_dict() for label in labels})
    return az.InferenceData(posterior=posterior)


def _from_stored(idata, settings: list[Setting], evidence: Evidence) -> dict[str, Fit]:
    posterior = idata.posterior
    gates = json.loads(posterior.attrs[_GATES_ATTR])
    fits = {}
    for setting in settings:
        block = posterior.sel(setting=setting.label)
        block.attrs = {k: v for k, v in posterior.attrs.items() if k != _GATES_ATTR}
        fits[setting.label] = Fit(setting, block, GateReport.from_dict(gates[setting.label]), evidence)
    return fits


def cache_key_parts(evidence: Evidence, settings: list[Setting], sample_kwargs: dict | None = None) -> list[str]:
    """Everything a batch's posterior depends on (library versions are added by the store)."""
    from . import mcmc

    return [
        evidence.arms.to_csv(index=False),
        evidence.studies.to_csv(index=False),
        repr(list(settings)),
        repr(sorted((sample_kwargs or {}).items())),
        Path(__file__).read_text(encoding="utf-8"),
        Path(mcmc.__file__).read_text(encoding="utf-8"),
    ]


def _cache_path(evidence: Evidence, settings: list[Setting], sample_kwargs: dict) -> Path | None:
    return fit_store.store_path("comparative", cache_key_parts(evidence, settings, sample_kwargs), ".nc")


def main_settings(evidence: Evidence) -> list[Setting]:
    """With and without the trial, the trial without borrowing the earlier treated arms (its
    effect read against the earlier untreated arms only), and leave-one-out over each data
    source (with the trial)."""
    settings = [
        Setting("with_trial"),
        Setting("without_trial", include_trial=False, left_out=evidence.trial_ids[0]),
        Setting("trial_without_borrowing", include_earlier_treated=False),
    ]
    settings += [
        Setting(f"loo_{study_id}", exclude_studies=(study_id,), left_out=study_id)
        for study_id in evidence.comparative_ids
    ]
    return settings


# --------------------------------------------------------------------------- summaries


def summarise_log_or(draws: np.ndarray, level: float = 0.95) -> dict:
    """Median and central interval of a log-OR, on both scales, with P(OR < 1), P(OR < 0.5)."""
    draws = np.asarray(draws, dtype=float)
    tail = (1 - level) / 2
    low, median, high = np.quantile(draws, [tail, 0.5, 1 - tail])
    return {
        "median": float(median),
        "low": float(low),
        "high": float(high),
        "or_median": float(np.exp(median)),
        "or_low": float(np.exp(low)),
        "or_high": float(np.exp(high)),
        "p_or_below_1": float(np.mean(draws < 0)),
        "p_or_below_half": float(np.mean(draws < np.log(0.5))),
    }


def log_or_mcse(values, level: float = 0.95) -> dict:
    """Monte Carlo standard errors (ArviZ, chain-aware) of the summaries of
    :func:`summarise_log_or` for draws shaped (chain, draw): of P(OR < 1), P(OR < 0.5) and of the
    median and interval limits on the OR scale (delta method: the OR's error is OR times the
    log-OR quantile's)."""
    import arviz as az

    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError("draws must be shaped (chain, draw)")
    tail = (1 - level) / 2
    out = {}
    for name, indicator in (("p_or_below_1", values < 0), ("p_or_below_half", values < np.log(0.5))):
        draws = indicator.astype(float)
        out[name] = float(az.mcse(az.convert_to_dataset({"x": draws}))["x"]) if np.ptp(draws) > 0 else 0.0
    for name, prob in (("or_low", tail), ("or_median", 0.5), ("or_high", 1 - tail)):
        quantile = float(np.quantile(values, prob))
        error = float(az.mcse(az.convert_to_dataset({"x": values}), method="quantile", prob=prob)["x"])
        out[name] = float(np.exp(quantile) * error)
    return out


def effect_mcse(result: Fit) -> dict[str, dict]:
    """:func:`log_or_mcse` of the pooled, trial and new-study log-ORs of one fit."""
    trial = result.evidence.trial_ids[0]
    return {
        "pooled": log_or_mcse(result.posterior["pooled_log_or"]),
        "trial": log_or_mcse(result.posterior["effect"].sel(study=trial)),
        "predictive": log_or_mcse(result.posterior["new_effect"]),
    }


def summary_with_errors(result: Fit) -> dict[str, dict]:
    """:func:`effect_summary` with, for the pooled, trial and predictive effects, each summary's
    Monte Carlo standard error under ``mcse_<name>`` (:func:`effect_mcse`)."""
    summary = effect_summary(result)
    for quantity, errors in effect_mcse(result).items():
        summary[quantity] = {**summary[quantity], **{f"mcse_{key}": value for key, value in errors.items()}}
    return summary


def effect_summary(result: Fit) -> dict[str, dict]:
    """Pooled log-OR, the trial's own implied effect and the predictive effect in a new study."""
    return {
        "pooled": summarise_log_or(result.draws("pooled_log_or")),
        "trial": summarise_log_or(result.trial_effect()),
        "predictive": summarise_log_or(result.draws("new_effect")),
        "tau": {"median": float(np.median(result.draws("tau")))},
    }


def empirical_log_odds_ratios(evidence: Evidence) -> pd.DataFrame:
    """Each comparative study's observed log-OR and its variance (Woolf; +0.5 only if a cell is 0)."""
    rows = []
    for study_id in evidence.comparative_ids:
        arms = evidence.arms[evidence.arms["study_id"] == study_id].set_index("treated")
        a, n1 = arms.loc[1, "events"], arms.loc[1, "n"]
        c, n0 = arms.loc[0, "events"], arms.loc[0, "n"]
        cells = np.array([a, n1 - a, c, n0 - c], dtype=float)
        if (cells == 0).any():
            cells += 0.5
        log_or = np.log(cells[0] * cells[3] / (cells[1] * cells[2]))
        variance = float(np.sum(1 / cells))
        study = evidence.studies.set_index("study_id").loc[study_id, "study"]
        rows.append(
            {
                "study_id": study_id,
                "study": study,
                "treated": f"{a}/{n1}",
                "untreated": f"{c}/{n0}",
                "table": (int(a), int(n1), int(c), int(n0)),
                "log_or": float(log_or),
                "variance": variance,
                "se": float(np.sqrt(variance)),
            }
        )
    return pd.DataFrame(rows)


def leave_one_out(fits: dict[str, Fit]) -> pd.DataFrame:
    """Pooled and predictive log-OR with each data source left out in turn (the trial's row is
    the fit without the trial)."""
    rows = []
    for result in fits.values():
        ev, study_id = result.evidence, result.setting.left_out
        if study_id is None:
            continue
        s = summary_with_errors(result)
        rows.append(
            {
                "left_out": ev.studies.set_index("study_id").loc[study_id, "study"],
                "study_id": study_id,
                **{f"pooled_{k}": v for k, v in s["pooled"].items()},
                **{f"predictive_{k}": v for k, v in s["predictive"].items()},
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- deterministic cross-check


def normal_normal_quadrature(
    log_or, variance, *, effect_sd: float = EFFECT_PRIOR_SD, tau_scale: float = TAU_SCALE
) -> dict:
    """Exact posterior of ``d`` in the normal-normal model by 1-D quadrature over ``tau``.

    Model: ``y_j ~ N(theta_j, v_j)``, ``theta_j ~ N(d, tau^2)``, ``d ~ N(0, effect_sd^2)``,
    ``tau ~ HalfNormal(tau_scale)``. Given ``tau`` the posterior of ``d`` is normal (conjugate);
    ``p(tau | y)`` is proportional to the prior times the marginal likelihood
    ``y ~ N(0, effect_sd^2 11' + diag(v + tau^2))``. Returns the posterior mean of ``d`` and
    P(d < 0).
    """
    y = np.asarray(log_or, dtype=float)
    v = np.asarray(variance, dtype=float)

    def conditional(tau):
        w = 1 / (v + tau**2)
        precision = 1 / effect_sd**2 + w.sum()
        return (w * y).sum() / precision, 1 / precision

    def weight(tau):
        cov = effect_sd**2 * np.ones((len(y), len(y))) + np.diag(v + tau**2)
        return stats.halfnorm.pdf(tau, scale=tau_scale) * stats.multivariate_normal.pdf(y, np.zeros(len(y)), cov)

    upper = 12 * tau_scale
    norm = integrate.quad(weight, 0, upper, epsabs=0, epsrel=1e-10)[0]
    mean = integrate.quad(lambda t: weight(t) * conditional(t)[0], 0, upper, epsabs=0, epsrel=1e-10)[0] / norm
    p_below = (
        integrate.quad(
            lambda t: weight(t) * stats.norm.cdf(0, *_loc_scale(conditional(t))), 0, upper, epsabs=0, epsrel=1e-10
        )[0]
        / norm
    )
    return {"mean": float(mean), "p_below_0": float(p_below)}


def _loc_scale(mean_var):
    mean, var = mean_var
    return mean, np.sqrt(var)


def normal_normal_mcmc(
    log_or,
    variance,
    *,
    effect_sd: float = EFFECT_PRIOR_SD,
    tau_scale: float = TAU_SCALE,
    draws: int = CROSSCHECK_DRAWS,
    tune: int = SAMPLING.tune,
    seed: int | None = None,
) -> dict:
    """The same normal-normal model sampled with PyMC (non-centred); mean, P(d<0) and their MCSE."""
    seed = seed if seed is not None else seed_for("normal-normal cross-check")
    import arviz as az
    import pymc as pm

    y = np.asarray(log_or, dtype=float)
    se = np.sqrt(np.asarray(variance, dtype=float))
    with pm.Model():
        pooled = pm.Normal("pooled_log_or", 0.0, effect_sd)
        tau = pm.HalfNormal("tau", tau_scale)
        z = pm.Normal("z", 0.0, 1.0, shape=len(y))
        pm.Normal("y", pooled + tau * z, se, observed=y)
        idata = pm.sample(random_seed=seed, **replace(SAMPLING, draws=draws, tune=tune).kwargs())
    assert_converged(idata, "normal-normal cross-check")
    d = idata.posterior["pooled_log_or"].values
    below = (d < 0).astype(float)
    mcse = az.mcse(az.convert_to_dataset({"d": d, "below": below}))
    return {
        "mean": float(d.mean()),
        "mean_mcse": float(mcse["d"]),
        "p_below_0": float(below.mean()),
        "p_below_0_mcse": float(mcse["below"]),
    }


def cross_check(evidence: Evidence, *, tolerance_mcse: float = CROSSCHECK_TOLERANCE_MCSE, **kwargs) -> dict:
    """Quadrature against MCMC for the normal-normal model on the empirical log-ORs."""
    empirical = empirical_log_odds_ratios(evidence)
    exact = normal_normal_quadrature(empirical["log_or"], empirical["variance"])
    sampled = normal_normal_mcmc(empirical["log_or"], empirical["variance"], **kwargs)
    mean_gap = abs(exact["mean"] - sampled["mean"])
    p_gap = abs(exact["p_below_0"] - sampled["p_below_0"])
    agree = (mean_gap <= tolerance_mcse * sampled["mean_mcse"]) and (
        p_gap <= tolerance_mcse * sampled["p_below_0_mcse"]
    )
    return {
        "exact": exact,
        "mcmc": sampled,
        "mean_gap": mean_gap,
        "p_gap": p_gap,
        "mean_gap_in_mcse": mean_gap / sampled["mean_mcse"],
        "p_gap_in_mcse": p_gap / sampled["p_below_0_mcse"],
        "agree": bool(agree),
    }


def predictive_tail_probability(result: Fit, events: int, n: int) -> dict:
    r"""How surprising ``events`` of ``n`` NK-treated patients would be in a new centre: the
    posterior-predictive probability :math:`P(Y \ge y)` with
    :math:`Y \sim \mathrm{Binomial}(n, \mathrm{expit}(b_{new} + d_{new}))`, averaged over the
    draws of the new centre's baseline log-odds :math:`b_{new}` (at the primary window) and
    log odds ratio :math:`d_{new}`; with its Monte Carlo standard error (ArviZ)."""
    import arviz as az

    risk = expit(np.asarray(result.posterior["new_baseline"]) + np.asarray(result.posterior["new_effect"]))
    tail = stats.binom.sf(events - 1, n, risk)
    mcse = float(az.mcse(az.convert_to_dataset({"tail": tail}))["tail"]) if np.ptp(tail) > 0 else 0.0
    return {"p_at_least": float(tail.mean()), "mcse": mcse}


def predictive_draws(result: Fit) -> tuple[np.ndarray, np.ndarray]:
    """Posterior-predictive control risk and NK log-OR of a new study (for trial design)."""
    return expit(result.draws("new_baseline")), result.draws("new_effect")


def effects_table(fits: dict[str, Fit], labels=("with_trial", "without_trial")) -> pd.DataFrame:
    """One row per quantity (pooled, trial, predictive) and fit: medians, intervals, probabilities
    and, in the ``mcse_*`` columns, their Monte Carlo standard errors (:func:`log_or_mcse`)."""
    names = {"pooled": "pooled OR", "trial": "the trial's implied OR", "predictive": "OR in a new study"}
    rows = []
    for quantity, name in names.items():
        for label in labels:
            s = summary_with_errors(fits[label])[quantity]
            if quantity == "trial" and not fits[label].setting.include_trial:
                name_here = "the trial's OR predicted without its data"
            else:
                name_here = name
            rows.append({"quantity": name_here, "fit": label, **s})
    return pd.DataFrame(rows)


def forest_rows(fits: dict[str, Fit], evidence: Evidence, adjusted: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of the comparative forest plot: observed and shrunken study log-ORs, the trial's
    implied effect, and the pooled and predictive effects with and without the trial (and of
    the fits named in ``adjusted``, label → description, e.g. the bias-adjusted analysis)."""
    adjusted = adjusted or {}
    rows = []
    empirical = empirical_log_odds_ratios(evidence)
    z = 1.959963984540054
    for row in empirical.itertuples():
        rows.append(
            {
                "label": f"{row.study}  NK {row.treated} vs {row.untreated}",
                "kind": "observed",
                "median": row.log_or,
                "low": row.log_or - z * row.se,
                "high": row.log_or + z * row.se,
            }
        )
        s = summarise_log_or(fits["with_trial"].draws("effect", row.study_id))
        rows.append({"label": f"{row.study} (model, with trial)", "kind": "study_model", **_interval(s)})
    trial_row = evidence.arms[evidence.arms["role"] == "trial"].iloc[0]
    trial_name = evidence.studies.set_index("study_id").loc[trial_row["study_id"], "study"]
    rows.append(
        {
            "label": f"{trial_name}  NK {trial_row['events']}/{trial_row['n']} (implied, borrowing)",
            "kind": "trial",
            **_interval(summarise_log_or(fits["with_trial"].trial_effect())),
        }
    )
    if "trial_without_borrowing" in fits:
        # the same trial read against the untreated arms alone: no shrinkage towards the earlier
        # treated arms (the shrunk value above is not the trial's own evidence)
        rows.append(
            {
                "label": f"{trial_name} (against untreated arms, no borrowing)",
                "kind": "trial",
                **_interval(summarise_log_or(fits["trial_without_borrowing"].trial_effect())),
            }
        )
    labelled = [("without_trial", "without the trial"), ("with_trial", "with the trial")]
    labelled += [(label, text) for label, text in adjusted.items() if label in fits]
    for label, text in labelled:
        s = effect_summary(fits[label])
        suffix = "_adjusted" if label in adjusted else ""
        rows.append({"label": f"pooled, {text}", "kind": "pooled" + suffix, **_interval(s["pooled"])})
        rows.append({"label": f"new study, {text}", "kind": "predictive" + suffix, **_interval(s["predictive"])})
    return pd.DataFrame(rows)


def _interval(summary: dict) -> dict:
    return {"median": summary["median"], "low": summary["low"], "high": summary["high"]}
