"""One function per table the book shows; each returns a pandas DataFrame ready to display."""

from __future__ import annotations

import re

import pandas as pd

from ..analysis.endpoints import clopper_pearson
from ..data.schema import OUTCOME_LABELS, ROLE_LABELS, ColumnSpec
from .glue import fmt_interval, fmt_mcmc, fmt_mcmc_or, fmt_percent
from .markup import DATA_TABLE_CLASS, Markup, text


def _number(value) -> str:
    return "" if pd.isna(value) else f"{float(value):g}"


def baseline_table(baseline: pd.DataFrame) -> pd.DataFrame:
    """The trial's baseline characteristics as printed rows: n (%) or median (range)."""
    rows = []
    for row in baseline.itertuples():
        if not pd.isna(row.median):
            summary = f"{_number(row.median)} ({_number(row.range_low)}–{_number(row.range_high)})"
            kind = "median (range)"
        else:
            summary = f"{int(row.count)} ({fmt_percent(row.count / row.n, 0)})"
            kind = "n (%)"
        rows.append(
            {
                "characteristic": row.characteristic,
                "category": row.category,
                "summary": summary,
                "statistic": kind,
                "verified": row.verified,
            }
        )
    return pd.DataFrame(rows)


#: A no-break space: the words of an interval or a count stay on one line.
NO_BREAK_SPACE = "\u00a0"


def unbroken(value: str) -> str:
    """``value`` with its spaces made non-breaking, so a cell such as an interval
    ('31.6 % (12.6 % to 56.6 %)') never wraps inside itself."""
    return str(value).replace(" ", NO_BREAK_SPACE)


def cohort_table(cohorts: pd.DataFrame) -> pd.DataFrame:
    """The evidence at a glance: every cohort row with its proportion and exact 95 % CI, window
    and verified flag (where each number stands in its source: :func:`cohort_sources_table`)."""
    low, high = clopper_pearson(cohorts["events"], cohorts["n"])
    window = cohorts["window_days"].astype("object").where(cohorts["window_days"].notna(), "not stated")
    table = pd.DataFrame(
        {
            "study": cohorts["study"],
            "role": cohorts["role"].map(ROLE_LABELS),
            "outcome": cohorts["outcome"].map(OUTCOME_LABELS),
            "events/n": [f"{e}/{n}" for e, n in zip(cohorts["events"], cohorts["n"], strict=False)],
            "% (exact 95 % CI)": [
                f"{unbroken(fmt_percent(e / n))} ({unbroken(fmt_interval(lo, hi))})"
                for e, n, lo, hi in zip(cohorts["events"], cohorts["n"], low, high, strict=False)
            ],
            "window (days)": window,
            "verified": cohorts["verified"],
        }
    )
    return table.reset_index(drop=True)


def cohort_sources_table(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Where each cohort row's count stands: study, outcome, source (DOI, PMID or URL), location
    in the source and verified flag, in the row order of :func:`cohort_table`."""
    table = pd.DataFrame(
        {
            "study": cohorts["study"],
            "outcome": cohorts["outcome"].map(OUTCOME_LABELS),
            "source": cohorts["source"],
            "location": cohorts["location"],
            "verified": cohorts["verified"],
        }
    )
    return table.reset_index(drop=True)


def printed_percent_discrepancies(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Rows whose printed percentage is not 100·events/n rounded to the printed decimals."""
    printed = cohorts["printed_percent"].astype("Float64")
    computed = 100 * cohorts["events"] / cohorts["n"]
    half_width = 0.5 * 10.0 ** (-cohorts["printed_decimals"].astype("Float64"))
    mask = (printed.notna() & ((printed - computed).abs() > half_width + 1e-9)).fillna(False).astype(bool)
    out = cohorts.loc[mask, ["cohort_id", "study", "events", "n", "printed_percent"]].copy()
    out["computed_percent"] = computed[mask].round(2)
    return out.reset_index(drop=True)


def discrepancy_display_table(discrepancies: pd.DataFrame) -> pd.DataFrame:
    """:func:`printed_percent_discrepancies` with the reader's column names."""
    return pd.DataFrame(
        {
            "cohort row": discrepancies["cohort_id"],
            "study": discrepancies["study"],
            "events/n": [f"{e}/{n}" for e, n in zip(discrepancies["events"], discrepancies["n"], strict=True)],
            "printed %": [f"{float(v):g}" for v in discrepancies["printed_percent"]],
            "computed %": [f"{float(v):g}" for v in discrepancies["computed_percent"]],
        }
    )


def to_myst_table(frame: pd.DataFrame, name: str, caption: str) -> Markup:
    """A MyST ``{table}`` directive (numbered, captioned, referable) for a DataFrame.

    Rendered from a cell with ``mystnb: markdown_format: myst`` it becomes a real table in both
    HTML and LaTeX, rather than a picture or raw HTML. Every header, cell and the caption pass
    through :func:`nkreport.report.markup.text`: data strings arrive as inert text (no role, directive,
    math, link, raw HTML or substitution can be formed from them); only :class:`Markup` written
    by the package is kept as MyST.
    """
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ValueError(f"table name {name!r}: use lower-case letters, digits and '-'")

    def cell(value) -> str:
        return text(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return Markup(
        "\n".join(
            [
                f"```{{table}} {cell(caption)}",
                f":name: {name}",
                f":class: {DATA_TABLE_CLASS}",
                "",
                header,
                rule,
                *body,
                "```",
            ]
        )
    )


# --- endpoint and design tables (chapters 3-5) ---------------------------------------------


def _p_value(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _window(value) -> str:
    return "not stated" if pd.isna(value) else str(int(value))


def interval_table(intervals: pd.DataFrame) -> pd.DataFrame:
    """Four 95 % intervals for one proportion (output of endpoints.binomial_intervals)."""
    return pd.DataFrame(
        {
            "method": intervals["label"],
            "events/n": [f"{e}/{n}" for e, n in zip(intervals["events"], intervals["n"], strict=False)],
            "estimate": [fmt_percent(p) for p in intervals["estimate"]],
            "95 % interval": [
                fmt_interval(lo, hi) for lo, hi in zip(intervals["low"], intervals["high"], strict=False)
            ],
            "width (points)": [f"{100 * w:.1f}" for w in intervals["width"]],
        }
    )


def comparator_test_table(one_sample: pd.DataFrame) -> pd.DataFrame:
    """One row per comparator: its rate and window and the exact one-sided binomial p-values
    against its rate (the arms compared as samples are in :func:`two_sample_test_table`)."""
    return pd.DataFrame(
        {
            "comparator": one_sample["comparator"],
            "role": one_sample["role"].map(ROLE_LABELS),
            "events/n": [
                f"{e}/{n}" for e, n in zip(one_sample["comparator_events"], one_sample["comparator_n"], strict=False)
            ],
            "rate": [fmt_percent(p) for p in one_sample["comparator_rate"]],
            "window (days)": [_window(w) for w in one_sample["window_days"]],
            "verified": one_sample["verified"],
            "p, trial lower (binomial)": [_p_value(p) for p in one_sample["p_lower"]],
            "p, trial higher (binomial)": [_p_value(p) for p in one_sample["p_higher"]],
        }
    )


def two_sample_test_table(one_sample: pd.DataFrame, two_sample: pd.DataFrame) -> pd.DataFrame:
    """The trial against each earlier untreated arm as a sample: the arm's count, the Newcombe
    risk difference (trial minus arm) and the one-sided Fisher and Boschloo p-values (trial
    lower), in the row order of
    ``two_sample`` (a table of its own, so that neither it nor :func:`comparator_test_table`
    is wider than a page)."""
    counts = one_sample.set_index("comparator")
    return pd.DataFrame(
        {
            "untreated arm": two_sample["comparator"],
            "events/n": [
                f"{int(counts.loc[name, 'comparator_events'])}/{int(counts.loc[name, 'comparator_n'])}"
                for name in two_sample["comparator"]
            ],
            "risk difference, trial minus arm (Newcombe 95 % CI, points)": [
                f"{100 * d:+.1f} ({unbroken(f'{100 * lo:+.1f} to {100 * hi:+.1f}')})"
                for d, lo, hi in zip(
                    two_sample["risk_difference"], two_sample["rd_low"], two_sample["rd_high"], strict=True
                )
            ],
            # one-sided, for fewer BSIs in the trial, like the binomial tests: Boschloo's test is
            # uniformly more powerful than Fisher's for a one-sided alternative
            "Fisher p, trial lower": [_p_value(v) for v in two_sample["fisher_p_lower"]],
            "Boschloo p, trial lower": [_p_value(v) for v in two_sample["boschloo_p_lower"]],
        }
    )


def zero_event_table(rows: list[dict]) -> pd.DataFrame:
    """Zero-event bounds: label, 0/n, exact one-sided 95 % upper bound and the rule of three."""
    return pd.DataFrame(
        {
            "cohort": [r["cohort"] for r in rows],
            "events/n": [f"0/{r['n']}" for r in rows],
            "exact one-sided 95 % upper bound": [fmt_percent(r["exact_upper"]) for r in rows],
            "rule of three (3/n)": [fmt_percent(r["rule_of_three"]) for r in rows],
        }
    )


def design_space_table(assessed: pd.DataFrame) -> pd.DataFrame:
    """Reconstructed designs near the planned size with their state at the interim
    (output of design.interim_assessment)."""

    def rule(row) -> str:
        final = f"≤ {int(row.max_bsi)} BSI of {int(row.n)}"
        if pd.isna(row.n1):
            return final
        return f"≤ {int(row.max_bsi_stage1)} of first {int(row.n1)}; {final}"

    return pd.DataFrame(
        {
            "null BSI rate": [fmt_percent(p) for p in assessed["p0"]],
            "target BSI rate": [fmt_percent(p, 0) for p in assessed["p1"]],
            "alpha / power": [
                f"{a:.2f} / {pw:.2f}" for a, pw in zip(assessed["alpha_target"], assessed["power_target"], strict=False)
            ],
            "design": assessed["design"],
            "success rule": [rule(r) for r in assessed.itertuples()],
            "attained alpha / power": [
                f"{a:.3f} / {pw:.3f}" for a, pw in zip(assessed["alpha"], assessed["power"], strict=False)
            ],
            "stage 1 at 19": assessed["stage1"].replace({"none": "", "pending": "ahead"}),
            "predictive probability": [f"{p:.3f}" for p in assessed["predictive_probability"]],
            "conditional power at target": [f"{p:.3f}" for p in assessed["conditional_power_target"]],
        }
    )


def comparative_effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """Pooled, trial-implied and new-study ORs with and without the trial."""
    fit_names = {
        "with_trial": "with the trial, at face value",
        "without_trial": "without the trial, at face value",
        "adjusted": "with the trial, adjusted",
        "adjusted_without_trial": "without the trial, adjusted",
    }
    return pd.DataFrame(
        {
            "quantity": effects["quantity"],
            "evidence": effects["fit"].map(fit_names),
            "OR (95 % CrI)": [
                fmt_mcmc_or(row.or_median, row.or_low, row.or_high,
                            {"or_median": row.mcse_or_median, "or_low": row.mcse_or_low, "or_high": row.mcse_or_high})
                for row in effects.itertuples()
            ],
            "P(OR < 1)": [fmt_mcmc(row.p_or_below_1, row.mcse_p_or_below_1) for row in effects.itertuples()],
            "P(OR < 0.5)": [fmt_mcmc(row.p_or_below_half, row.mcse_p_or_below_half) for row in effects.itertuples()],
        }
    )


def _mcmc_cells(table: pd.DataFrame, prefix: str, name: str) -> list[str]:
    """``<prefix>_<name>`` of each row with the digits its ``<prefix>_mcse_<name>`` allows."""
    return [fmt_mcmc(v, e) for v, e in zip(table[f"{prefix}_{name}"], table[f"{prefix}_mcse_{name}"], strict=True)]


def _mcmc_or_cells(table: pd.DataFrame, prefix: str) -> list[str]:
    """``OR (low to high)`` of each row, each figure to the digits its Monte Carlo error allows."""
    return [
        fmt_mcmc_or(
            row[f"{prefix}_or_median"], row[f"{prefix}_or_low"], row[f"{prefix}_or_high"],
            {key: row[f"{prefix}_mcse_{key}"] for key in ("or_median", "or_low", "or_high")},
        )
        for _, row in table.iterrows()
    ]


def leave_one_out_table(loo: pd.DataFrame) -> pd.DataFrame:
    """The pooled and new-study OR with each data source left out."""
    return pd.DataFrame(
        {
            "left out": loo["left_out"],
            "pooled OR (95 % CrI)": _mcmc_or_cells(loo, "pooled"),
            "P(pooled OR < 1)": _mcmc_cells(loo, "pooled", "p_or_below_1"),
            "P(new-study OR < 1)": _mcmc_cells(loo, "predictive", "p_or_below_1"),
        }
    )


def sensitivity_table(table: pd.DataFrame, groups: dict[str, str]) -> pd.DataFrame:
    """Every sensitivity setting: arms used, pooled and trial-implied OR, probabilities."""
    return pd.DataFrame(
        {
            "assumption": table["group"].map(groups),
            "setting": table["assumption"],
            "arms": table["arms"],
            "comparative studies": table["comparative_studies"],
            "pooled OR (95 % CrI)": _mcmc_or_cells(table, "pooled"),
            "P(pooled OR < 1)": _mcmc_cells(table, "pooled", "p_or_below_1"),
            "trial's implied OR": _mcmc_or_cells(table, "trial"),
            "P(new-study OR < 1)": _mcmc_cells(table, "predictive", "p_or_below_1"),
        }
    )


def assurance_table(curves: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Assurance per sample size (rows) and design prior (columns)."""
    first = next(iter(curves.values()))
    out = pd.DataFrame({"patients per arm": first["n_per_arm"]})
    for name, curve in curves.items():
        out[name] = [f"{a:.2f}" for a in curve["assurance"]]
    return out


# --- MAP prior and updating (chapters 6-7) --------------------------------------------------


def map_summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Raw and shrunken estimates per earlier study, and the MAP prior for a new study."""
    return pd.DataFrame(
        {
            "study": summary["study"],
            "events/n": [
                f"{int(e)}/{int(n)}" if pd.notna(n) else ""
                for e, n in zip(summary["events"], summary["n"], strict=False)
            ],
            "observed": [fmt_percent(r) if pd.notna(r) else "" for r in summary["raw"]],
            "model mean (95 % CrI)": [
                f"{fmt_percent(m)} ({fmt_interval(lo, hi)})"
                for m, lo, hi in zip(summary["mean"], summary["low"], summary["high"], strict=False)
            ],
        }
    )


def mixture_components_table(mixture) -> pd.DataFrame:
    """The components of a Beta mixture: weight, a, b, mean and a + b."""
    frame = mixture.table()
    return pd.DataFrame(
        {
            "component": frame["component"],
            "weight": [f"{w:.3f}" for w in frame["weight"]],
            "a": [f"{a:.2f}" for a in frame["a"]],
            "b": [f"{b:.2f}" for b in frame["b"]],
            "mean": [fmt_percent(m) for m in frame["mean"]],
            "a + b": [f"{s:.1f}" for s in frame["a + b"]],
        }
    )


def mixture_candidates_table(candidates: pd.DataFrame) -> pd.DataFrame:
    """EM fits with 1, 2, ... components: log-likelihood, AIC, BIC, largest CDF difference."""
    return pd.DataFrame(
        {
            "components": candidates["components"],
            "log-likelihood": [f"{v:.1f}" for v in candidates["log_likelihood"]],
            "AIC": [f"{v:.1f}" for v in candidates["aic"]],
            "BIC": [f"{v:.1f}" for v in candidates["bic"]],
            "largest CDF difference to the draws": [f"{v:.4f}" for v in candidates["max_cdf_difference"]],
            "chosen": ["yes" if c else "" for c in candidates["chosen"]],
        }
    )


def ess_display_table(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prior": table["prior"],
            "ELIR": [f"{v:.1f}" for v in table["elir"]],
            "moment": [f"{v:.1f}" for v in table["moment"]],
            "Morita at the mean": [f"{v:.1f}" for v in table["morita"]],
            "Morita at the mode": [f"{v:.1f}" for v in table["morita_mode"]],
        }
    )


def tau_sensitivity_table(table: pd.DataFrame) -> pd.DataFrame:
    """MAP prior for each half-normal scale of tau (quadrature)."""
    out = pd.DataFrame(
        {
            "scale of tau": [f"{s:g}" for s in table["tau_scale"]],
            "posterior mean of tau": [f"{v:.2f}" for v in table["tau_mean"]],
            "MAP prior mean": [fmt_percent(v) for v in table["mean"]],
            "median": [fmt_percent(v) for v in table["median"]],
            "95 % interval": [fmt_interval(lo, hi) for lo, hi in zip(table["low"], table["high"], strict=False)],
        }
    )
    if "box_p" in table:
        out["Box p for the trial"] = [f"{v:.3f}" for v in table["box_p"]]
    if "posterior_mean" in table:
        out["posterior mean after the trial"] = [fmt_percent(v) for v in table["posterior_mean"]]
    return out


def crosscheck_table(table: pd.DataFrame) -> pd.DataFrame:
    """MCMC against quadrature for the MAP prior's mean and quantiles."""
    return pd.DataFrame(
        {
            "statistic": table["statistic"],
            "MCMC": [f"{v:.4f}" for v in table["mcmc"]],
            "quadrature": [f"{v:.4f}" for v in table["quadrature"]],
            "MCSE": [f"{v:.4f}" for v in table["mcse"]],
            "difference / MCSE": [f"{v:.2f}" for v in table["z"]],
        }
    )


def update_display_table(table: pd.DataFrame, threshold_label: str | None = None) -> pd.DataFrame:
    """Each prior and its posterior after the trial."""
    out = pd.DataFrame(
        {
            "prior": table["prior"],
            "prior mean": [fmt_percent(v) for v in table["prior_mean"]],
            "prior ESS (ELIR)": ["undefined" if pd.isna(v) else f"{v:.1f}" for v in table["prior_ess"]],
            "posterior mean (95 % CrI)": [
                f"{fmt_percent(m)} ({fmt_interval(lo, hi)})"
                for m, lo, hi in zip(table["posterior_mean"], table["low"], table["high"], strict=False)
            ],
            "informative weight, prior → posterior": [
                "" if abs(p - 1) < 1e-12 and abs(q - 1) < 1e-12 else f"{p:.2f} → {q:.2f}"
                for p, q in zip(table["prior_informative_weight"], table["posterior_informative_weight"], strict=False)
            ],
        }
    )
    if "p_below_threshold" in table and threshold_label:
        out[threshold_label] = [f"{v:.3f}" for v in table["p_below_threshold"]]
    return out


def casemix_display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Expected risk without NK in the trial's case mix: rows = historical source, columns =
    assumed ABO-incompatible share in the historical population."""
    wide = table.pivot(index="historical", columns="historical_share", values="expected_risk")
    rates = table.drop_duplicates("historical").set_index("historical")["historical_rate"]
    out = pd.DataFrame({"historical rate (source)": [f"{fmt_percent(rates[h])} ({h})" for h in wide.index]})
    for share in wide.columns:
        out[f"share {fmt_percent(share, 0)}"] = [fmt_percent(v) for v in wide[share]]
    return out


def oc_display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Operating characteristics: probability of declaring success for each prior and true risk."""
    risks = [c for c in table.columns if isinstance(c, float)]
    out = pd.DataFrame(
        {
            "prior": table["prior"],
            "success if events ≤": [str(v) if v >= 0 else "never" for v in table["max_successful_events"]],
        }
    )
    for risk in risks:
        out[f"true risk {fmt_percent(risk)}"] = [f"{v:.3f}" for v in table[risk]]
    return out


# --- data dictionary (appendix) ---------------------------------------------------------


def dictionary_frame(specs: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    """The column specifications as a table (one row per field) for the data dictionary."""
    return pd.DataFrame(
        {
            "field": [Markup(f"`{s.name}`") for s in specs],
            "required": ["yes" if s.required else "no" for s in specs],
            "type": [s.type_label for s in specs],
            "meaning": [s.description for s in specs],
            "example": [Markup(f"`{s.example}`") if s.example else "(empty)" for s in specs],
        }
    )


def sidecar_frame(keys: dict[str, str]) -> pd.DataFrame:
    """Sidecar keys and their meaning as a table."""
    return pd.DataFrame({"key": [Markup(f"`{k}`") for k in keys], "meaning": list(keys.values())})


def conditional_assurance_table(grid: pd.DataFrame, prior_labels: dict[str, str]) -> pd.DataFrame:
    """Conditional assurance (``assurance.conditional_assurance_grid``): one row per design
    prior and control risk, one column per size per arm."""
    out = grid.pivot_table(index=["prior", "control_risk"], columns="n_per_arm", values="assurance", sort=False)
    rows = []
    for (prior, risk), values in out.iterrows():
        row = {
            "design prior of the effect": prior_labels.get(prior, prior),
            "assumed 30-day control risk": f"{100 * risk:.0f} %",
        }
        row.update({f"{n} per arm": f"{v:.2f}" for n, v in values.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def absolute_effects_table(absolute: pd.DataFrame) -> pd.DataFrame:
    """Infections per 1,000 without and with NK cells (``assurance.absolute_effects``)."""
    from .glue import fmt_signed

    return pd.DataFrame(
        {
            "assumed 30-day control risk": [f"{100 * r:.0f} %" for r in absolute["control_risk"]],
            "BSI per 1,000 without NK cells": [f"{v:.0f}" for v in absolute["control_per"]],
            "BSI per 1,000 with NK cells (median)": [f"{v:.0f}" for v in absolute["nk_per_median"]],
            "difference per 1,000 (95 % interval)": [
                f"{fmt_signed(m)} ({fmt_signed(lo)} to {fmt_signed(hi)})"
                for m, lo, hi in zip(
                    absolute["difference_median"], absolute["difference_low"], absolute["difference_high"], strict=True
                )
            ],
        }
    )


def baseline_arms_table(untreated: pd.DataFrame) -> pd.DataFrame:
    """The trial against each untreated rate (``baseline.untreated_rates``)."""

    def interval(m, lo, hi):
        return [f"{a:.2f} ({b:.2f} to {c:.2f})" for a, b, c in zip(m, lo, hi, strict=True)]

    return pd.DataFrame(
        {
            "untreated arm": untreated["label"],
            "BSI": [
                f"{e}/{n} ({100 * e / n:.1f} %)"
                for e, n in zip(untreated["comparator_events"], untreated["comparator_n"], strict=True)
            ],
            "trial's implied OR at this risk (95 % CrI)": interval(
                untreated["or_median"], untreated["or_low"], untreated["or_high"]
            ),
            "P(trial risk < this risk)": [f"{p:.3f}" for p in untreated["p_below_control"]],
            "two-sample OR (exact 95 % CI)": interval(
                untreated["or_conditional"], untreated["or_conditional_low"], untreated["or_conditional_high"]
            ),
            "P(trial risk < arm's risk)": [f"{p:.3f}" for p in untreated["p_trial_below_arm"]],
            "one-sided Fisher p": [f"{p:.3f}" for p in untreated["fisher_p_lower"]],
        }
    )


def influence_table(loo: pd.DataFrame) -> pd.DataFrame:
    """The headline quantities with each study left out (:func:`nkreport.analysis.influence.leave_one_cohort_out`)."""

    def shown(value, fmt: str) -> str:
        return "n/a" if pd.isna(value) else format(float(value), fmt)

    return pd.DataFrame(
        {
            "left out": loo["left_out"],
            "roles": loo["roles"].map(lambda r: ", ".join(ROLE_LABELS.get(x.strip(), x) for x in r.split(",") if r)),
            "pooled OR": loo["pooled_or"].map(lambda v: shown(v, ".2f")),
            "P(OR < 1)": loo["p_or_below_1"].map(lambda v: shown(v, ".3f")),
            "MAP prior mean": loo["map_mean"].map(lambda v: "n/a" if pd.isna(v) else fmt_percent(v)),
            "trial's posterior risk": loo["trial_posterior_mean"].map(
                lambda v: "n/a" if pd.isna(v) else fmt_percent(v)
            ),
        }
    )
