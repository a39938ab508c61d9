"""Sensitivity of the comparative effect to its assumptions.

Each assumption is one :class:`nkreport.analysis.comparative.Setting`; all settings of a sweep are
sampled together in one model whose settings are ``pm.Data`` (prior scales, which arms count),
so no setting rebuilds or recompiles the model. The assumptions:

* **heterogeneity prior**: the half-normal scale of ``tau`` (the between-study SD of the log-OR);
* **outcome windows**: the trial counts BSI within 30 days, the earlier studies within 90 days
  or an unstated window. Either drop the cohorts whose window is known to differ, drop every
  cohort without a 30-day window, or keep them all and add a model term: a non-negative
  log-odds increase of the baseline risk for windows other than 30 days (a longer window can
  only catch more infections);
* **exchangeable baseline**: the trial's baseline risk is drawn from the same distribution as
  the untreated arms; relax this with a shift of the trial's baseline with a normal prior
  (of mean zero, or with a direction: lower for a later era and a shorter window, higher for
  a sicker case mix and genotype-selected controls), or let the external baselines (other
  centres, without NK cells) join the baseline distribution;
* **bias in the earlier comparisons**: an additive bias shared by the observational log odds
  ratios, with the prior of :mod:`nkreport.analysis.bias` and a wider one;
* **the adjusted analysis**: every adjustment at once (the bias prior, the wider window term,
  the external baselines, among them the one 30-day untreated rate): the analysis the next
  trial is designed from, reported beside the main analysis.
"""

from __future__ import annotations

import pandas as pd

from . import bias, comparative
from .comparative import TAU_SCALE, Evidence, Fit, Setting

#: Half-normal scales of tau compared with the main analysis's.
TAU_SCALES = (0.25, 1.0)
#: Prior SDs of the shift of the trial's baseline log-odds.
SHIFT_SCALES = (0.5, 1.0)
#: Half-normal scale of the log-odds increase for outcome windows other than 30 days ...
WINDOW_SCALE = 0.5
#: ... and the wider scale of the adjusted analysis (see :data:`nkreport.analysis.bias.WINDOW_SCALE_WIDE`).
WINDOW_SCALE_WIDE = bias.WINDOW_SCALE_WIDE
#: Directional shifts of the trial's baseline log-odds: mean (sign gives the direction) and SD.
DIRECTIONAL_SHIFT = 0.5
DIRECTIONAL_SHIFT_SD = 0.5

GROUPS = {
    "main": "main analysis",
    "heterogeneity": "heterogeneity prior",
    "windows": "outcome windows",
    "baseline": "exchangeable baseline",
    "bias": "bias in the earlier comparisons",
    "adjusted": "adjusted analysis",
}


def adjusted_setting(label: str = "adjusted", **changes) -> Setting:
    """Every adjustment at once: the bias prior, the wider window term and the external
    baselines (the 30-day untreated rate among them)."""
    return Setting(
        label,
        include_external=True,
        window_scale=WINDOW_SCALE_WIDE,
        bias_mean=bias.BIAS_PRIOR_MEAN,
        bias_sd=bias.BIAS_PRIOR_SD,
        **changes,
    )


def sensitivity_settings() -> list[tuple[str, str, Setting]]:
    """(group, description, setting) for every sensitivity analysis, main analysis first."""
    rows = [("main", f"main analysis (tau half-normal scale {TAU_SCALE:g})", Setting("with_trial"))]
    rows += [
        ("heterogeneity", f"tau half-normal scale {scale:g}", Setting(f"tau_{scale:g}", tau_scale=scale))
        for scale in TAU_SCALES
    ]
    rows += [
        (
            "windows",
            "cohorts with a known window other than 30 days excluded",
            Setting("window_known_excluded", exclude_windows="known_other"),
        ),
        (
            "windows",
            "every cohort without a 30-day window excluded",
            Setting("window_all_excluded", exclude_windows="all_other"),
        ),
        (
            "windows",
            f"window term (half-normal scale {WINDOW_SCALE:g}) for windows other than 30 days",
            Setting("window_term", window_scale=WINDOW_SCALE),
        ),
        (
            "windows",
            f"window term (half-normal scale {WINDOW_SCALE_WIDE:g}) for windows other than 30 days",
            Setting("window_term_wide", window_scale=WINDOW_SCALE_WIDE),
        ),
    ]
    rows += [
        ("baseline", f"trial baseline shifted, prior SD {scale:g}", Setting(f"shift_{scale:g}", shift_scale=scale))
        for scale in SHIFT_SCALES
    ]
    rows += [
        (
            "baseline",
            f"trial baseline lower (later era, 30-day window): shift mean {-DIRECTIONAL_SHIFT:g}, "
            f"SD {DIRECTIONAL_SHIFT_SD:g}",
            Setting("shift_lower", shift_mean=-DIRECTIONAL_SHIFT, shift_scale=DIRECTIONAL_SHIFT_SD),
        ),
        (
            "baseline",
            f"trial baseline higher (sicker case mix, genotype-selected controls): shift mean "
            f"{DIRECTIONAL_SHIFT:g}, SD {DIRECTIONAL_SHIFT_SD:g}",
            Setting("shift_higher", shift_mean=DIRECTIONAL_SHIFT, shift_scale=DIRECTIONAL_SHIFT_SD),
        ),
        (
            "baseline",
            "external baselines join the untreated arms",
            Setting("external_baselines", include_external=True),
        ),
        (
            "baseline",
            "the trial against the 30-day untreated rate alone (no borrowing of earlier effects)",
            Setting(
                "trial_vs_30_day", include_external=True, include_earlier_treated=False, exclude_windows="all_other"
            ),
        ),
    ]
    rows += [
        (
            "bias",
            f"shared bias N({bias.BIAS_PRIOR_MEAN:g}, {bias.BIAS_PRIOR_SD:g}²) on the earlier log odds ratios",
            Setting("bias_prior", bias_mean=bias.BIAS_PRIOR_MEAN, bias_sd=bias.BIAS_PRIOR_SD),
        ),
        (
            "bias",
            f"shared bias N({bias.BIAS_PRIOR_MEAN_WIDE:g}, {bias.BIAS_PRIOR_SD_WIDE:g}²) (the wider prior)",
            Setting("bias_prior_wide", bias_mean=bias.BIAS_PRIOR_MEAN_WIDE, bias_sd=bias.BIAS_PRIOR_SD_WIDE),
        ),
    ]
    rows += [
        ("adjusted", "bias prior, wider window term and external baselines together", adjusted_setting()),
        (
            "adjusted",
            "the adjusted analysis without the trial",
            adjusted_setting("adjusted_without_trial", include_trial=False),
        ),
    ]
    return rows


def book_settings(evidence: Evidence) -> list[Setting]:
    """Every setting the book's synthesis chapters report, as one batch: with and without the
    trial, leave-one-out, and the sensitivity settings. Sampled once (and stored with
    ``cache=True``), it serves the comparative, sensitivity and design chapters alike."""
    settings = comparative.main_settings(evidence)
    labels = {s.label for s in settings}
    return settings + [s for _, _, s in sensitivity_settings() if s.label not in labels]


def run(evidence: Evidence | None = None, **kwargs) -> tuple[pd.DataFrame, dict[str, Fit]]:
    """Sample the book's batch of settings (:func:`book_settings`) in one model and tabulate the
    sensitivity settings, one row each (keyword arguments go to
    :func:`nkreport.analysis.comparative.fit_settings`, e.g. ``cache=True``)."""
    evidence = evidence or comparative.build_evidence()
    fits = comparative.fit_settings(evidence, book_settings(evidence), **kwargs)
    return sensitivity_table(evidence, sensitivity_settings(), fits), fits


def sensitivity_table(evidence: Evidence, described, fits: dict[str, Fit]) -> pd.DataFrame:
    rows = []
    for group, description, setting in described:
        summary = comparative.summary_with_errors(fits[setting.label])
        arms_used = int((comparative.arm_sizes(evidence, setting) > 0).sum())
        comparative_used = [
            sid
            for sid in evidence.comparative_ids
            if comparative.arm_sizes(evidence, setting)[evidence.arms["study_id"].to_numpy() == sid].sum() > 0
        ]
        key = "main" if group == "main" else key_of(setting.label)
        rows.append(
            {
                "group": group,
                "label": setting.label,
                "key": key,
                "assumption": description,
                "arms": arms_used,
                "comparative_studies": len(comparative_used),
                **{f"pooled_{k}": v for k, v in summary["pooled"].items()},
                **{f"trial_{k}": v for k, v in summary["trial"].items()},
                **{f"predictive_{k}": v for k, v in summary["predictive"].items()},
                "tau_median": summary["tau"]["median"],
            }
        )
    return pd.DataFrame(rows)


def key_of(label: str) -> str:
    """A glue-key-safe form of a setting label ('tau_0.25' → 'tau_0p25')."""
    return label.replace(".", "p").replace("-", "_")
