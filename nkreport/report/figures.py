"""One function per figure the book shows; each returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..analysis.endpoints import clopper_pearson
from ..data.schema import OUTCOME_LABELS, ROLE_LABELS, ROLES
from .markup import mathtext

ROLE_COLOURS = {
    "trial": "#c0392b",
    "earlier_treated": "#2471a3",
    "earlier_untreated": "#7f8c8d",
    "external_baseline": "#b7950b",
}
ROLE_MARKERS = {"trial": "D", "earlier_treated": "o", "earlier_untreated": "s", "external_baseline": "^"}


def flow_figure(planned_n: int, infused_n: int, bsi_events: int, window_days: int):
    """Patient flow: planned → infused → stopped early, with the primary endpoint count."""
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.set_axis_off()
    boxes = [
        (0.12, f"Planned\n{planned_n} patients"),
        (0.42, f"Enrolled and infused\n{infused_n} patients"),
        (0.74, f"Stopped early\nBSI within {window_days} days:\n{bsi_events} of {infused_n}"),
    ]
    for x, label in boxes:
        ax.text(
            x,
            0.5,
            label,
            ha="center",
            va="center",
            fontsize=11,
            bbox=dict(boxstyle="round,pad=0.6", facecolor="#eef3f8", edgecolor="#34495e"),
        )
    for start, end in ((0.22, 0.30), (0.54, 0.615)):
        ax.annotate("", xy=(end, 0.5), xytext=(start, 0.5), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(
        0.42, 0.08, f"{planned_n - infused_n} planned patients never enrolled", ha="center", fontsize=9, color="#555"
    )
    ax.set_xlim(0, 0.9)
    ax.set_ylim(0, 1)
    fig.tight_layout()
    return fig


def forest_raw(cohorts: pd.DataFrame, outcome: str, level: float = 0.95):
    """Raw proportions with exact (Clopper-Pearson) CIs, grouped by role, for one outcome."""
    rows = cohorts[cohorts["outcome"] == outcome].copy()
    rows["role_order"] = rows["role"].map({r: i for i, r in enumerate(ROLES)})
    rows = rows.sort_values(["role_order", "study"]).reset_index(drop=True)
    low, high = clopper_pearson(rows["events"], rows["n"], level)
    proportion = (rows["events"] / rows["n"]).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.4))
    y = np.arange(len(rows))[::-1]
    for role in ROLES:
        mask = (rows["role"] == role).to_numpy()
        if not mask.any():
            continue
        ax.errorbar(
            proportion[mask],
            y[mask],
            xerr=[proportion[mask] - low[mask], high[mask] - proportion[mask]],
            fmt=ROLE_MARKERS[role],
            color=ROLE_COLOURS[role],
            capsize=3,
            label=ROLE_LABELS[role],
        )
    windows = ["window ?" if pd.isna(w) else f"{int(w)} d" for w in rows["window_days"]]
    labels = [
        mathtext(f"{s}  {e}/{n}, {w}" + ("" if v == "yes" else f"  [{v}]"))
        for s, e, n, w, v in zip(rows["study"], rows["events"], rows["n"], windows, rows["verified"], strict=False)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"proportion with {OUTCOME_LABELS[outcome]} (exact {round(100 * level)} % CI)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


# --- endpoint and design figures (chapters 3-5) --------------------------------------------


def interval_comparison(intervals: pd.DataFrame, printed_percent: float | None = None):
    """Several 95 % intervals for one proportion side by side (output of endpoints.binomial_intervals)."""
    fig, ax = plt.subplots(figsize=(7.0, 0.55 * len(intervals) + 1.3))
    y = np.arange(len(intervals))[::-1]
    estimate = intervals["estimate"].to_numpy(dtype=float)
    ax.errorbar(
        estimate,
        y,
        xerr=[estimate - intervals["low"].to_numpy(), intervals["high"].to_numpy() - estimate],
        fmt="D",
        color=ROLE_COLOURS["trial"],
        capsize=4,
    )
    for yi, (lo, hi) in zip(y, zip(intervals["low"], intervals["high"], strict=False), strict=False):
        ax.text(hi + 0.01, yi, f"{100 * lo:.1f}–{100 * hi:.1f} %", va="center", fontsize=8)
    if printed_percent is not None:
        ax.axvline(printed_percent / 100, color="#555", ls=":", lw=1, label=f"printed {printed_percent:g} %")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    events, n = int(intervals["events"].iloc[0]), int(intervals["n"].iloc[0])
    ax.set_yticks(y, [mathtext(label) for label in intervals["label"]])
    ax.set_xlim(0, 0.8)
    ax.set_xlabel(f"proportion ({events}/{n}) with 95 % interval")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def predictive_curves(curves: pd.DataFrame, observed_failures: int, n_interim: int):
    """Predictive probability of final success against failures at the interim, one line per rule.

    ``curves`` has columns rule (label), failures, predictive_probability.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    rules = list(dict.fromkeys(curves["rule"]))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(rules)))
    for colour, rule in zip(colours, rules, strict=False):
        part = curves[curves["rule"] == rule]
        ax.plot(part["failures"], part["predictive_probability"], marker="o", ms=3, color=colour, label=mathtext(rule))
    ax.axvline(
        observed_failures,
        color=ROLE_COLOURS["trial"],
        ls="--",
        lw=1.2,
        label=f"observed: {observed_failures} of {n_interim}",
    )
    ax.set_xlabel(f"BSIs among the first {n_interim} patients")
    ax.set_ylabel("predictive probability of success")
    ax.set_ylim(-0.02, 1.02)
    visible = curves.loc[curves["predictive_probability"] > 1e-3, "failures"]
    ax.set_xlim(-0.5, min(n_interim, max(int(visible.max()), observed_failures) + 2) + 0.5)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", frameon=True)
    fig.tight_layout()
    return fig


def design_size_map(space: pd.DataFrame, planned_n: int, tolerance: int, design_name: str = "single-stage"):
    """Maximum sample size of one design type against the target rate, one line per null rate,
    one panel per (alpha, power); the band marks planned_n ± tolerance."""
    part = space[space["design"] == design_name]
    settings = part[["alpha_target", "power_target"]].drop_duplicates().sort_values(["alpha_target", "power_target"])
    fig, axes = plt.subplots(
        1, len(settings), figsize=(3.0 * len(settings) + 1, 3.4), sharex=True, sharey=True, squeeze=False
    )
    null_rates = sorted(part["p0"].unique())
    colours = plt.cm.plasma(np.linspace(0, 0.85, len(null_rates)))
    for ax, (alpha, power) in zip(axes[0], settings.itertuples(index=False), strict=False):
        panel = part[(part["alpha_target"] == alpha) & (part["power_target"] == power)]
        ax.axhspan(planned_n - tolerance, planned_n + tolerance, color="#c0392b", alpha=0.12)
        ax.axhline(planned_n, color="#c0392b", lw=0.8)
        for colour, p0 in zip(colours, null_rates, strict=False):
            line = panel[panel["p0"] == p0].sort_values("p1")
            ax.plot(100 * line["p1"], line["n"], marker="o", ms=3, color=colour, label=f"null {100 * p0:.1f} %")
        ax.set_title(f"alpha {alpha:.2f}, power {power:.2f}", fontsize=9)
        ax.set_xlabel("target BSI rate (%)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{design_name} sample size")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def comparative_forest(rows: pd.DataFrame):
    """Forest plot of log odds ratios (NK vs none) on the OR scale: observed study ORs (Woolf
    95 % CI), model estimates, the trial's implied OR, pooled and new-study ORs (95 % CrI)."""
    styles = {
        "observed": dict(fmt="s", color=ROLE_COLOURS["earlier_treated"], mfc="white"),
        "study_model": dict(fmt="o", color=ROLE_COLOURS["earlier_treated"]),
        "trial": dict(fmt="D", color=ROLE_COLOURS["trial"]),
        "pooled": dict(fmt="D", color="black"),
        "predictive": dict(fmt="v", color="#555555"),
        "pooled_adjusted": dict(fmt="D", color="#1f5fa8", mfc="white"),
        "predictive_adjusted": dict(fmt="v", color="#1f5fa8", mfc="white"),
    }
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(rows) + 1.3))
    y = np.arange(len(rows))[::-1]
    odds = np.exp(rows[["median", "low", "high"]].to_numpy(dtype=float))
    for kind, style in styles.items():
        mask = (rows["kind"] == kind).to_numpy()
        if mask.any():
            ax.errorbar(
                odds[mask, 0],
                y[mask],
                xerr=[odds[mask, 0] - odds[mask, 1], odds[mask, 2] - odds[mask, 0]],
                capsize=3,
                **style,
            )
    ax.axvline(1.0, color="#999999", lw=1, ls="--")
    _odds_ratio_axis(ax)
    ax.set_yticks(y, [mathtext(label) for label in rows["label"]], fontsize=8)
    ax.set_xlabel("odds ratio of bloodstream infection, NK cells vs none (log scale)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _odds_ratio_axis(ax, ticks=(0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)) -> None:
    """A log-scaled odds-ratio axis labelled with plain numbers."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())


def sensitivity_panels(table: pd.DataFrame, groups: dict[str, str]):
    """One panel per assumption: pooled OR and the trial's implied OR (median, 95 % CrI) under
    each setting, with P(pooled OR < 1) printed at the right."""
    present = [g for g in groups if g in set(table["group"]) and g != "main"]
    main = table[table["group"] == "main"]
    heights = [len(table[table["group"] == g]) + len(main) for g in present]
    fig, axes = plt.subplots(
        len(present), 1, figsize=(7.5, 0.55 * sum(heights) + 1.4), sharex=True, gridspec_kw={"height_ratios": heights}
    )
    axes = np.atleast_1d(axes)
    for ax, group in zip(axes, present, strict=False):
        part = pd.concat([main, table[table["group"] == group]])
        y = np.arange(len(part))[::-1]
        for prefix, offset, colour, marker, name in (
            ("pooled", 0.15, "black", "D", "pooled OR"),
            ("trial", -0.15, ROLE_COLOURS["trial"], "o", "trial's implied OR"),
        ):
            med = np.exp(part[f"{prefix}_median"].to_numpy(dtype=float))
            low = np.exp(part[f"{prefix}_low"].to_numpy(dtype=float))
            high = np.exp(part[f"{prefix}_high"].to_numpy(dtype=float))
            ax.errorbar(
                med,
                y + offset,
                xerr=[med - low, high - med],
                fmt=marker,
                color=colour,
                capsize=2,
                ms=4,
                label=mathtext(name),
            )
        for yy, p in zip(y, part["pooled_p_or_below_1"], strict=False):
            ax.text(1.02, yy, f"P(OR<1) {p:.2f}", transform=ax.get_yaxis_transform(), fontsize=7, va="center")
        ax.set_yticks(y, [mathtext(label) for label in part["assumption"]], fontsize=7)
        ax.axvline(1.0, color="#999999", lw=1, ls="--")
        ax.set_title(groups[group], fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="upper right", ncol=2, frameon=False)
    _odds_ratio_axis(axes[-1])
    axes[-1].set_xlabel("odds ratio of bloodstream infection, NK vs none (median, 95 % CrI; log scale)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def assurance_curves(curves: dict[str, pd.DataFrame], alpha: float):
    """Assurance against sample size per arm for each design prior, with the probability of a
    beneficial effect (the ceiling) as a dashed line of the same colour."""
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    colours = ["#c0392b", "#2471a3", "#7f8c8d", "#b7950b"]
    for (name, curve), colour in zip(curves.items(), colours, strict=False):
        ax.plot(curve["n_per_arm"], curve["assurance"], marker="o", ms=3, color=colour, label=mathtext(name))
        ax.axhline(float(curve["p_beneficial"].iloc[0]), color=colour, ls="--", lw=1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("patients per arm")
    ax.set_ylabel(f"assurance (one-sided Fisher test, alpha {alpha:g})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def rct_oc_figure(oc: pd.DataFrame, important_or: float = 0.5):
    """Operating characteristics of two designs over the true control risk (computed elsewhere):
    the type I error (OR = 1, left) and the power at OR ``important_or`` (right). ``oc`` has
    columns design, control_risk, odds_ratio, probability_of_success."""
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.2), sharex=True)
    styles = [dict(color="#1f5fa8", ls="-", marker="o"), dict(color="#555555", ls="--", marker="s")]
    for ax, odds_ratio, title in (
        (axes[0], 1.0, "type I error (OR = 1)"),
        (axes[1], important_or, f"power at OR = {important_or:g}"),
    ):
        for (design, part), style in zip(
            oc[oc["odds_ratio"] == odds_ratio].groupby("design", sort=False), styles, strict=False
        ):
            ax.plot(100 * part["control_risk"], part["probability_of_success"], ms=3, lw=1.2, label=design, **style)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xlabel("true 30-day control risk (%)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("probability of success", fontsize=9)
    axes[1].set_ylim(0, 1)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


# --- MAP prior and updating (chapters 6-7) --------------------------------------------------


def map_forest(summary: pd.DataFrame, trial: tuple[int, int] | None = None, outcome: str = "bsi"):
    """Each earlier study's raw proportion (open marker, exact 95 % CI) and its shrunken estimate
    under the MAP model (filled, 95 % CrI), the MAP prior for a new study, and the trial."""
    rows = summary.reset_index(drop=True)
    studies = rows[rows["n"].notna()]
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1].astype(float)
    y_studies = y[studies.index]
    low, high = clopper_pearson(studies["events"].astype(int), studies["n"].astype(int))
    raw = studies["raw"].to_numpy(dtype=float)
    ax.errorbar(
        raw,
        y_studies + 0.15,
        xerr=[raw - low, high - raw],
        fmt="o",
        mfc="white",
        color=ROLE_COLOURS["earlier_treated"],
        capsize=3,
        label="observed (exact 95 % CI)",
    )
    mean = studies["mean"].to_numpy(dtype=float)
    ax.errorbar(
        mean,
        y_studies - 0.15,
        xerr=[mean - studies["low"], studies["high"] - mean],
        fmt="o",
        color=ROLE_COLOURS["earlier_treated"],
        capsize=3,
        label="shrunken estimate (95 % CrI)",
    )
    new = rows.iloc[-1]
    ax.errorbar(
        [new["mean"]],
        [y[-1]],
        xerr=[[new["mean"] - new["low"]], [new["high"] - new["mean"]]],
        fmt="D",
        color="black",
        capsize=3,
        label="MAP prior for a new study (mean, 95 %)",
    )
    labels = [
        mathtext(f"{s}  {int(e)}/{int(n)}" if pd.notna(n) else s)
        for s, e, n in zip(rows["study"], rows["events"], rows["n"], strict=False)
    ]
    if trial is not None:
        events, n = trial
        ax.axvline(events / n, color=ROLE_COLOURS["trial"], ls="--", lw=1.2, label=f"the trial, {events}/{n}")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"risk of {OUTCOME_LABELS[outcome]} under NK cells")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def mixture_fit_figure(draws, mixture, reference_pdf, outcome: str = "bsi"):
    """MCMC draws of the MAP prior (histogram), the exact density by quadrature, and the Beta
    mixture approximation."""
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    upper = float(np.quantile(draws, 0.995))
    grid = np.linspace(1e-4, upper, 400)
    ax.hist(draws, bins=np.linspace(0, upper, 80), density=True, color="#d6e4f0", edgecolor="white", label="MCMC draws")
    ax.plot(grid, reference_pdf(grid), color="black", lw=1.5, label="exact (quadrature)")
    ax.plot(
        grid,
        mixture.pdf(grid),
        color=ROLE_COLOURS["earlier_treated"],
        lw=1.5,
        ls="--",
        label=f"Beta mixture ({mixture.n_components} components)",
    )
    ax.set_xlabel(f"risk of {OUTCOME_LABELS[outcome]} in a new study under NK cells")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def prior_posterior_figure(pairs: dict, trial: tuple[int, int], outcome: str = "bsi"):
    """One panel per prior: prior (dashed) and posterior (solid) densities, with the trial's
    likelihood (normalised, grey) for reference."""
    events, n = trial
    grid = np.linspace(0.0005, 0.9995, 800)
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.0 * len(pairs), 3.0), sharex=True, squeeze=False)
    from scipy import stats as _stats

    likelihood = _stats.beta.pdf(grid, events + 1, n - events + 1)
    for ax, (name, (prior, post)) in zip(axes[0], pairs.items(), strict=False):
        ax.fill_between(grid, likelihood, color="#dddddd", label="trial likelihood")
        ax.plot(grid, prior.pdf(grid), color=ROLE_COLOURS["earlier_treated"], ls="--", label="prior")
        ax.plot(grid, post.pdf(grid), color=ROLE_COLOURS["trial"], label="posterior")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 0.8)
        inner = grid > 0.01
        top = max(float(np.max(post.pdf(grid))), float(np.max(prior.pdf(grid[inner]))), float(likelihood.max()))
        ax.set_ylim(0, 1.15 * top)
        ax.set_xlabel(f"risk of {OUTCOME_LABELS[outcome]}", fontsize=8)
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def robust_weight_figure(curves: dict[str, pd.DataFrame], chosen_weight: float):
    """Posterior weight of the informative (MAP) part against the prior robust weight; the
    diagonal is 'no update of the weights'."""
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    colours = [ROLE_COLOURS["trial"], ROLE_COLOURS["earlier_treated"], "#7f8c8d"]
    for (name, curve), colour in zip(curves.items(), colours, strict=False):
        ax.plot(curve["robust_weight"], curve["posterior_informative_weight"], color=colour, label=mathtext(name))
    grid = np.linspace(0, 1, 11)
    ax.plot(grid, 1 - grid, color="#999999", ls=":", lw=1, label="prior informative weight")
    ax.axvline(chosen_weight, color="#555555", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("prior weight of the robust component")
    ax.set_ylabel("posterior weight of the MAP (informative) part")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def power_prior_figure(
    sweep: pd.DataFrame, normalized: dict | None = None, trial: tuple[int, int] | None = None, outcome: str = "bsi"
):
    """Posterior mean and 95 % interval of the risk against the power-prior weight a0; the
    normalized power prior's result (a0 estimated) is drawn at its posterior mean of a0."""
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    ax.fill_between(sweep["a0"], sweep["low"], sweep["high"], color="#d6e4f0", label="95 % interval")
    ax.plot(sweep["a0"], sweep["posterior_mean"], color=ROLE_COLOURS["earlier_treated"], label="posterior mean")
    if normalized is not None:
        ax.errorbar(
            [normalized["a0_mean"]],
            [normalized["mean"]],
            yerr=[[normalized["mean"] - normalized["low"]], [normalized["high"] - normalized["mean"]]],
            fmt="D",
            color="black",
            capsize=3,
            label="normalized power prior (a0 estimated)",
        )
    if trial is not None:
        ax.axhline(
            trial[0] / trial[1],
            color=ROLE_COLOURS["trial"],
            ls="--",
            lw=1,
            label=f"observed in the trial, {trial[0]}/{trial[1]}",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(0.6, float(sweep["high"].max()) + 0.05))
    ax.set_xlabel("a0: weight given to the earlier NK-treated patients")
    ax.set_ylabel(f"risk of {OUTCOME_LABELS[outcome]} under NK (posterior)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def plot_cumulative_incidence(fitter, title: str, window_days: int | None = None):
    """Step plot of the cumulative incidence of BSI with its pointwise confidence band."""
    import matplotlib.pyplot as plt

    curve = fitter.cumulative_density_.iloc[:, 0]
    bands = fitter.confidence_interval_.reindex(curve.index).ffill().fillna(0.0)
    low, high = bands.min(axis=1).to_numpy(), bands.max(axis=1).to_numpy()
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    ax.step(curve.index, curve.to_numpy(), where="post", color="#c0392b", label="BSI (death competing)")
    ax.fill_between(
        curve.index,
        low,
        high,
        step="post",
        color="#c0392b",
        alpha=0.2,
        label=f"pointwise {round(100 * (1 - fitter.alpha))} % CI",
    )
    if window_days is not None:
        ax.axvline(window_days, color="#555", ls=":", lw=1)
    ax.set_xlabel("days after transplantation")
    ax.set_ylabel("cumulative incidence of BSI")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def bias_tipping_figure(grid: pd.DataFrame, levels=(0.95, 0.8, 0.5)):
    """Probability of benefit over the mean and SD of a bias shared by the earlier comparisons
    (output of :func:`nkreport.analysis.bias.tipping_grid`): pooled effect and a new centre,
    with a labelled line where the probability equals each of ``levels``."""
    means = np.sort(grid["bias_mean"].unique())
    sds = np.sort(grid["bias_sd"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.5), sharey=True)
    titles = {"p_pooled_below_0": "pooled effect", "p_new_below_0": "a new centre"}
    styles = ["solid", "dashed", "dotted"]
    for ax, (column, title) in zip(axes, titles.items(), strict=True):
        values = grid.pivot(index="bias_sd", columns="bias_mean", values=column).loc[sds, means].to_numpy()
        shade = ax.contourf(means, sds, values, levels=np.linspace(0, 1, 11), cmap="Blues", vmin=0, vmax=1.2)
        ordered = sorted(levels, reverse=True)
        lines = ax.contour(
            means,
            sds,
            values,
            levels=sorted(levels),
            colors="black",
            linestyles=[styles[ordered.index(v) % 3] for v in sorted(levels)],
            linewidths=1.3,
        )
        # one label per line, half-way along the part of the SD axis where the line is drawn
        spots = []
        for level in sorted(levels):
            rows = [k for k in range(len(sds)) if values[k].min() <= level <= values[k].max()]
            if rows:
                k = rows[len(rows) // 2]
                spots.append((float(np.interp(level, values[k], means)), float(sds[k])))
        ax.clabel(lines, fmt=lambda v: f"{v:g}", fontsize=9, manual=spots)
        ax.axvline(0.0, color="#c0392b", lw=1)
        ticks = [0.2, 0.3, 0.5, 0.7, 1.0, 1.5]
        ax.set_xticks(np.log(ticks), [f"{t:g}" for t in ticks], fontsize=9)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("bias as an odds-ratio factor\n(< 1: the studies overstate the benefit)", fontsize=9)
    axes[0].set_ylabel("SD of the bias (log odds ratio)", fontsize=9)
    bar = fig.colorbar(shade, ax=axes, fraction=0.04, pad=0.02)
    bar.set_label("probability of benefit, P(OR < 1)", fontsize=9)
    bar.ax.tick_params(labelsize=9)
    return fig


def baseline_tipping_figure(curve: pd.DataFrame, rates: pd.DataFrame, levels=(0.5, 0.8, 0.95)):
    """The trial against an assumed 30-day control risk (outputs of
    :func:`nkreport.analysis.baseline.implied_effect_curve` and ``untreated_rates``): left, the
    implied odds ratio (median and 95 % band, log scale); right, P(risk with NK < control risk)
    and 1 minus the exact one-sided p-value, with a line at each of ``levels``. Every untreated
    rate is a numbered dashed tick on both panels, its marker on the curve shaped and coloured by
    role; the key below gives each number's study, outcome window and rate."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, StrMethodFormatter

    font, width, panel_height = 8, 6.5, 2.4
    left_in, gap_in, right_in, axis_in = 0.62, 0.78, 0.34, 0.42
    panel_width = (width - left_in - gap_in - right_in) / 2
    x = curve["control_risk"].to_numpy(dtype=float)
    x_low, x_high = float(x.min()), float(x.max())
    rows = rates.sort_values("comparator_rate").reset_index(drop=True)
    numbers = [str(k + 1) for k in range(len(rows))]
    roles = [role for role in ("earlier_untreated", "external_baseline") if role in set(rows["role"])]
    key_rows = -(-(len(rows) + len(roles) + 1 + int("p_value_lower" in curve)) // 2)

    fig = plt.figure(figsize=(width, 4.0))
    renderer = fig.canvas.get_renderer()
    probes = [fig.text(0, 0, number, fontsize=font) for number in numbers]
    widths = [probe.get_window_extent(renderer).width / fig.dpi for probe in probes]
    for probe in probes:
        probe.remove()
    ticks = [(r - x_low) / (x_high - x_low) * panel_width for r in rows["comparator_rate"]]

    # one row of numbers over their ticks, in the ticks' order, spread apart where ticks crowd:
    # overlapping neighbours merge into a run centred on its ticks (and kept inside the panel),
    # with a slanted leader from each tick up to its number
    pad, order = 0.04, sorted(range(len(ticks)), key=lambda k: ticks[k])
    runs = [[k] for k in order]

    def run_start(run):
        offsets = np.cumsum([0.0] + [(widths[i] + widths[j]) / 2 + pad for i, j in zip(run, run[1:], strict=False)])
        start = float(np.mean([ticks[k] - o for k, o in zip(run, offsets, strict=True)]))
        return min(max(start, widths[run[0]] / 2), panel_width - widths[run[-1]] / 2 - offsets[-1]), offsets

    merged = True
    while merged:
        merged = False
        for i in range(len(runs) - 1):
            start, offsets = run_start(runs[i])
            following, _ = run_start(runs[i + 1])
            if following < start + offsets[-1] + (widths[runs[i][-1]] + widths[runs[i + 1][0]]) / 2 + pad:
                runs[i : i + 2] = [runs[i] + runs[i + 1]]
                merged = True
                break
    centres = [0.0] * len(ticks)
    for run in runs:
        start, offsets = run_start(run)
        for k, offset in zip(run, offsets, strict=True):
            centres[k] = start + offset
    row_height, strip_base = 1.35 * font / 72, 0.09
    top_in = strip_base + row_height + 0.04
    bottom_in = axis_in + 0.1 + key_rows * 1.7 * font / 72 + 0.06
    height = bottom_in + panel_height + top_in
    fig.set_size_inches(width, height)
    axes = [
        fig.add_axes([left, bottom_in / height, panel_width / width, panel_height / height])
        for left in (left_in / width, (left_in + panel_width + gap_in) / width)
    ]
    odds_ax, prob_ax = axes
    trial = ROLE_COLOURS["trial"]

    odds_ax.fill_between(x, curve["or_low"], curve["or_high"], color=trial, alpha=0.18, lw=0, label="95 % CrI")
    odds_ax.plot(x, curve["or_median"], color=trial, lw=1.6, label="median")
    odds_ax.axhline(1.0, color="#555555", lw=1, ls="--")
    odds_ax.set_yscale("log")
    low, high = float(curve["or_low"].min()), float(curve["or_high"].max())
    y_low, y_high = low / 1.15, high * 1.6
    odds_ax.set_ylim(y_low, y_high)
    odds_ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200) if y_low <= t <= y_high]
    odds_ax.yaxis.set_major_locator(FixedLocator(odds_ticks))
    odds_ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    odds_ax.yaxis.set_minor_locator(NullLocator())
    odds_ax.set_ylabel("implied odds ratio, NK vs none (log scale)", fontsize=font)
    odds_ax.legend(loc="upper right", fontsize=font, frameon=True, framealpha=0.9)

    prob_ax.plot(x, curve["p_below_control"], color=trial, lw=1.6)
    curve_keys = [Line2D([], [], color=trial, lw=1.6, label="right: posterior P(risk with NK < control risk)")]
    if "p_value_lower" in curve:
        prob_ax.plot(x, 1 - curve["p_value_lower"], color="#333333", lw=1.1, ls="--")
        curve_keys.append(Line2D([], [], color="#333333", lw=1.1, ls="--", label="right: 1 − exact one-sided p-value"))
    for level in levels:
        prob_ax.axhline(level, color="#777777", lw=0.9, ls=":")
        prob_ax.text(1.02, level, f"{level:g}", transform=prob_ax.get_yaxis_transform(), fontsize=font, va="center")
    prob_ax.set_ylim(0, 1)
    prob_ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0], ["0", "0.2", "0.4", "0.6", "0.8", "1"])
    prob_ax.set_ylabel("P(risk with NK < control risk)", fontsize=font)

    for ax, column in ((odds_ax, "or_median"), (prob_ax, "p_below_control")):
        for rate, role, value in zip(rows["comparator_rate"], rows["role"], rows[column], strict=True):
            colour = ROLE_COLOURS.get(role, "#555555")
            ax.axvline(rate, color=colour, lw=0.9, ls=(0, (2, 2)), zorder=1)
            ax.plot(
                [rate],
                [value],
                ls="none",
                marker=ROLE_MARKERS.get(role, "o"),
                ms=6,
                color=colour,
                mec="black",
                mew=0.6,
                zorder=4,
                clip_on=False,
            )
        for number, tick, centre in zip(numbers, ticks, centres, strict=True):
            ax.annotate(
                number,
                xy=(tick / panel_width, 1.0),
                xycoords="axes fraction",
                xytext=(centre / panel_width, 1.0 + strip_base / panel_height),
                textcoords="axes fraction",
                fontsize=font,
                ha="center",
                va="bottom",
                arrowprops=dict(arrowstyle="-", color="#777777", lw=0.7, relpos=(0.5, 0.0), shrinkA=0, shrinkB=0),
                annotation_clip=False,
            )
        ax.set_xlim(x_low, x_high)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.0f}"))
        ax.set_xlabel("assumed 30-day BSI risk without NK cells (%)", fontsize=font)
        ax.tick_params(labelsize=font)
        ax.grid(alpha=0.3)

    handles = [
        Line2D(
            [],
            [],
            ls="none",
            marker=ROLE_MARKERS.get(role, "o"),
            ms=6,
            color=ROLE_COLOURS.get(role, "#555555"),
            mec="black",
            mew=0.6,
            label=mathtext(f"{number}  {label}: {100 * rate:.1f} %"),
        )
        for number, label, role, rate in zip(numbers, rows["label"], rows["role"], rows["comparator_rate"], strict=True)
    ]
    handles += [
        Line2D(
            [],
            [],
            ls=(0, (2, 2)),
            lw=0.9,
            marker=ROLE_MARKERS[role],
            ms=6,
            color=ROLE_COLOURS[role],
            mec="black",
            mew=0.6,
            label=f"untreated rate: {ROLE_LABELS[role]}",
        )
        for role in roles
    ]
    handles += curve_keys
    handles += [Patch(color="none", label="") for _ in range(len(handles) % 2)]
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=2,
        fontsize=font,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.5,
    )
    return fig


def sbc_rank_histograms(results: dict[str, dict]):
    """Simulation-based calibration: for each model (a row) and parameter (a panel), the
    histogram of the true values' ranks among the posterior draws, with the count expected
    under uniformity and its binomial band (from :func:`nkreport.analysis.sbc.summarise`)."""
    models = list(results)
    columns = max(len(results[m]["parameters"]) for m in models)
    fig, axes = plt.subplots(len(models), columns, figsize=(6.3, 1.75 * len(models) + 0.5), squeeze=False)
    for row, model in enumerate(models):
        parameters = results[model]["parameters"]
        for col in range(columns):
            ax = axes[row][col]
            if col >= len(parameters):
                ax.set_axis_off()
                continue
            name, summary = list(parameters.items())[col]
            counts = np.asarray(summary["counts"])
            ax.axhspan(*summary["band"], color="#e5e8e8", lw=0)
            ax.axhline(summary["expected"], color="#7f8c8d", lw=0.8)
            ax.bar(np.arange(counts.size), counts, width=0.85, color=ROLE_COLOURS["earlier_treated"])
            ax.set_title(f"{mathtext(name)}\nχ² p = {summary['p_value']:.2g}", fontsize=8)
            ax.set_xticks([0, counts.size - 1], ["low", "high"], fontsize=8)
            ax.tick_params(axis="y", labelsize=8)
            if col == 0:
                ax.set_ylabel(f"{mathtext(results[model]['label'])}\nreplications", fontsize=8)
    fig.tight_layout()
    return fig
