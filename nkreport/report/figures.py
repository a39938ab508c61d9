"""One function per figure the book shows; each returns a matplotlib Figure.

Every figure is drawn at the size it is printed: at most :data:`FIGURE_WIDTH_IN` wide, so that
the PDF (A4, text width :data:`TEXT_WIDTH_IN`) never scales it down, with no text smaller than
:data:`MIN_TEXT_PT`; :func:`printed_size` measures both. Fonts are embedded in PDF figures as
TrueType (Type 42), never as Type 3.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

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

#: Width of the PDF's text block in inches: A4 (210 mm) less Sphinx's 1 in margins on each side.
TEXT_WIDTH_IN = 210 / 25.4 - 2.0
#: Padding the notebook display adds around the tight bounding box of a figure (each side).
SAVE_PAD_IN = 0.1
#: Widest figure drawn: the text width less the display padding, so that print scale is 1.
FIGURE_WIDTH_IN = 6.0
#: Tallest figure drawn: room for its caption on an A4 page (text height about 9.7 in).
MAX_FIGURE_HEIGHT_IN = 8.0
#: Smallest text, in points, at the printed size.
MIN_TEXT_PT = 8.0
#: matplotlib settings for every figure: text sizes readable in print, TrueType fonts in PDF.
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 9,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "path",
    # a fixed salt for the ids inside SVG files (random otherwise), so that a figure drawn again is
    # the same file and an incremental build equals a clean one
    "svg.hashsalt": "nkreport",
}
plt.rcParams.update(STYLE)
#: Markers and line styles that tell lines apart without colour.
LINE_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "*", "h", "p")
LINE_STYLES = ("-", "--", "-.", ":")


def printed_size(fig, text_width_in: float = TEXT_WIDTH_IN) -> tuple[float, float, float]:
    """Width and smallest text of a figure as printed.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure as a chapter displays it (saved to its tight bounding box plus
        :data:`SAVE_PAD_IN` on each side).
    text_width_in : float
        The printed text width; a wider figure is scaled down to it.

    Returns
    -------
    tuple of float
        (natural width in inches, scale at which it is printed (at most 1), smallest visible
        text in points at the printed size).
    """
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width = fig.get_tightbbox(renderer).width + 2 * SAVE_PAD_IN
    scale = min(1.0, text_width_in / width)
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return width, scale, scale * min(sizes)


def _key_above(fig, ax, ncol: int = 2) -> None:
    """The legend of ``ax`` in a band across the top of the figure, never over the data; lays
    the figure out to leave room for it."""
    handles, labels = ax.get_legend_handles_labels()
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.2 * rows + 0.06) / fig.get_size_inches()[1]))


def _percent_axis(axis, decimals: int = 0) -> None:
    """Label an axis holding proportions (0-1) in percent, without a % sign on each tick."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:.{decimals}f}"))


def flow_figure(planned_n: int, infused_n: int, bsi_events: int, window_days: int):
    """Patient flow: planned → infused → stopped early, with the primary endpoint count."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 2.2))
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
            fontsize=9.5,
            bbox=dict(boxstyle="round,pad=0.6", facecolor="#eef3f8", edgecolor="#34495e"),
        )
    for start, end in ((0.22, 0.30), (0.54, 0.615)):
        ax.annotate("", xy=(end, 0.5), xytext=(start, 0.5), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(
        0.42, 0.08, f"{planned_n - infused_n} planned patients never enrolled", ha="center", fontsize=8.5, color="#555"
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
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 0.3 * len(rows) + 1.5))
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
    ax.set_xlim(-0.025, 1.025)  # a marker at 0 % or 100 % is drawn whole
    ax.set_ylim(-0.7, len(rows) - 0.3)
    _percent_axis(ax.xaxis)
    ax.set_xlabel(f"patients with {OUTCOME_LABELS[outcome]}\n(%, exact {round(100 * level)} % CI)")
    ax.grid(axis="x", alpha=0.3)
    _key_above(fig, ax)
    return fig


# --- endpoint and design figures (chapters 3-5) --------------------------------------------


def interval_comparison(intervals: pd.DataFrame, printed_percent: float | None = None):
    """Several 95 % intervals for one proportion side by side (output of endpoints.binomial_intervals)."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 0.45 * len(intervals) + 1.3))
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
    ax.set_xlim(-0.02, 0.8)
    ax.set_ylim(-0.6, len(intervals) - 0.4)
    _percent_axis(ax.xaxis)
    ax.set_xlabel(f"patients with BSI (%; {events}/{n}) with 95 % interval")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def predictive_curves(curves: pd.DataFrame, observed_failures: int, n_interim: int):
    """Predictive probability of final success against failures at the interim, one line per rule.

    ``curves`` has columns rule (label), failures, predictive_probability.
    """
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.4 + 0.13 * len(set(curves["rule"]))))
    rules = list(dict.fromkeys(curves["rule"]))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(rules)))
    # each rule its own marker and line style as well as colour (readable in grey and by the colour-blind)
    for k, (colour, rule) in enumerate(zip(colours, rules, strict=False)):
        part = curves[curves["rule"] == rule]
        ax.plot(
            part["failures"],
            part["predictive_probability"],
            marker=LINE_MARKERS[k % len(LINE_MARKERS)],
            ls=LINE_STYLES[k % len(LINE_STYLES)],
            ms=4.5,
            lw=1.1,
            mfc="white" if k % 2 else colour,
            color=colour,
            label=mathtext(rule),
        )
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
    # the key beside the plot, never over the curves
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0.0)
    fig.tight_layout()
    return fig


def design_size_map(space: pd.DataFrame, planned_n: int, tolerance: int, design_name: str = "single-stage"):
    """Maximum sample size of one design type against the target rate, one line per null rate,
    one panel per (alpha, power); the band marks planned_n ± tolerance."""
    part = space[space["design"] == design_name]
    settings = part[["alpha_target", "power_target"]].drop_duplicates().sort_values(["alpha_target", "power_target"])
    columns = min(2, len(settings))
    rows = -(-len(settings) // columns)
    null_rates = sorted(part["p0"].unique())
    key_rows = -(-(len(null_rates) + 1) // 3)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(FIGURE_WIDTH_IN, 2.2 * rows + 0.2 * key_rows + 0.3),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    colours = plt.cm.plasma(np.linspace(0, 0.85, len(null_rates)))
    for ax in axes.flat[len(settings) :]:
        ax.set_visible(False)
    for ax, (alpha, power) in zip(axes.flat, settings.itertuples(index=False), strict=False):
        panel = part[(part["alpha_target"] == alpha) & (part["power_target"] == power)]
        ax.axhspan(planned_n - tolerance, planned_n + tolerance, color="#c0392b", alpha=0.12)
        ax.axhline(planned_n, color="#c0392b", lw=0.8)
        for k, (colour, p0) in enumerate(zip(colours, null_rates, strict=False)):
            line = panel[panel["p0"] == p0].sort_values("p1")
            ax.plot(
                100 * line["p1"],
                line["n"],
                marker=LINE_MARKERS[k % len(LINE_MARKERS)],
                ms=3.5,
                lw=1.1,
                color=colour,
                label=f"null {100 * p0:.1f}\u2009%",
            )
        ax.set_title(f"alpha {alpha:.2f}, power {power:.2f}", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("target BSI rate (%)")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{design_name} size")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    band = plt.Rectangle((0, 0), 1, 1, color="#c0392b", alpha=0.25)
    fig.legend(
        handles + [band],
        labels + [f"planned {planned_n} ± {tolerance}"],
        loc="lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, (0.2 * key_rows + 0.05) / fig.get_size_inches()[1], 1, 1))
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
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 0.3 * len(rows) + 1.2))
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
    ax.set_xlabel("odds ratio of bloodstream infection,\nNK cells vs none (log scale)")
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
    each setting, with P(pooled OR < 1) printed at the right. Long setting names wrap, and their
    rows get the room they need."""
    import textwrap

    present = [g for g in groups if g in set(table["group"]) and g != "main"]
    main = table[table["group"] == "main"]
    parts = [pd.concat([main, table[table["group"] == g]]) for g in present]
    wrapped = [[textwrap.fill(str(label), 52) for label in part["assumption"]] for part in parts]
    # a row takes 1 unit for one line of label and 0.5 more for each further line; a unit is
    # 0.27 in, less when the figure would not fit on a page with its caption
    spans = [np.array([1.0 + 0.5 * label.count("\n") for label in labels]) for labels in wrapped]
    heights = [float(span.sum()) for span in spans]
    key_in, panel_gap_in = 0.3, 0.38
    fixed_in = panel_gap_in * len(present) + 0.75 + key_in
    unit_in = min(0.27, (MAX_FIGURE_HEIGHT_IN - 0.1 - fixed_in) / sum(heights))
    height = unit_in * sum(heights) + fixed_in
    fig, axes = plt.subplots(
        len(present),
        1,
        figsize=(FIGURE_WIDTH_IN, height),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
    )
    axes = np.atleast_1d(axes)
    for ax, group, part, labels, span in zip(axes, present, parts, wrapped, spans, strict=True):
        y = float(span.sum()) - (np.cumsum(span) - span / 2)
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
            ax.text(1.02, yy, f"P(OR<1) {p:.2f}", transform=ax.get_yaxis_transform(), fontsize=8, va="center")
        ax.set_yticks(y, [mathtext(label) for label in labels], fontsize=8)
        ax.set_ylim(0, float(span.sum()))
        ax.axvline(1.0, color="#999999", lw=1, ls="--")
        ax.set_title(groups[group], fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="upper center", ncol=2, frameon=False)
    _odds_ratio_axis(axes[-1])
    axes[-1].set_xlabel("odds ratio of bloodstream infection, NK vs none\n(median, 95 % CrI; log scale)")
    fig.tight_layout(rect=(0, 0, 1, 1 - key_in / height))
    return fig


def assurance_curves(curves: dict[str, pd.DataFrame], alpha: float):
    """Assurance against sample size per arm for each design prior, with the probability of a
    beneficial effect (the ceiling) as a dashed line of the same colour."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.9))
    colours = ["#c0392b", "#2471a3", "#7f8c8d", "#b7950b"]
    for k, ((name, curve), colour) in enumerate(zip(curves.items(), colours, strict=False)):
        ax.plot(
            curve["n_per_arm"],
            curve["assurance"],
            marker=LINE_MARKERS[k % len(LINE_MARKERS)],
            ms=3.5,
            color=colour,
            label=mathtext(name),
        )
        ax.axhline(float(curve["p_beneficial"].iloc[0]), color=colour, ls="--", lw=1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("patients per arm")
    ax.set_ylabel(f"assurance (one-sided Fisher test, alpha {alpha:g})")
    ax.grid(alpha=0.3)
    # the key below the plot, never over the curves
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.45 / fig.get_size_inches()[1], 1, 1))
    return fig


def rct_oc_figure(oc: pd.DataFrame, important_or: float = 0.5):
    """Operating characteristics of two designs over the true control risk (computed elsewhere):
    the type I error (OR = 1, left) and the power at OR ``important_or`` (right). ``oc`` has
    columns design, control_risk, odds_ratio, probability_of_success."""
    fig, axes = plt.subplots(1, 2, figsize=(FIGURE_WIDTH_IN, 3.2), sharex=True)
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
    # the key below both panels, never over the curves
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.3 / fig.get_size_inches()[1], 1, 1))
    return fig


# --- MAP prior and updating (chapters 6-7) --------------------------------------------------


def map_forest(summary: pd.DataFrame, trial: tuple[int, int] | None = None, outcome: str = "bsi"):
    """Each earlier study's raw proportion (open marker, exact 95 % CI) and its shrunken estimate
    under the MAP model (filled, 95 % CrI), the MAP prior for a new study, and the trial."""
    rows = summary.reset_index(drop=True)
    studies = rows[rows["n"].notna()]
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 0.45 * len(rows) + 1.8))
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
    ax.set_xlim(-0.025, 1.025)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    _percent_axis(ax.xaxis)
    ax.set_xlabel(f"risk of {OUTCOME_LABELS[outcome]} under NK cells (%)")
    ax.grid(axis="x", alpha=0.3)
    _key_above(fig, ax)
    return fig


def mixture_fit_figure(draws, mixture, reference_pdf, outcome: str = "bsi"):
    """MCMC draws of the MAP prior (histogram), the exact density by quadrature, and the Beta
    mixture approximation."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.3))
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
    _percent_axis(ax.xaxis)
    ax.set_xlabel(f"risk of {OUTCOME_LABELS[outcome]} in a new study under NK cells (%)")
    ax.set_ylabel("density (per unit of risk)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def prior_posterior_figure(pairs: dict, trial: tuple[int, int], outcome: str = "bsi"):
    """One panel per prior: prior (dashed) and posterior (solid) densities, with the trial's
    likelihood (normalised, grey) for reference."""
    events, n = trial
    grid = np.linspace(0.0005, 0.9995, 800)
    import textwrap

    columns = min(2, len(pairs))
    rows = -(-len(pairs) // columns)
    spare = rows * columns > len(pairs)  # the key goes in the spare panel, else below
    fig, axes = plt.subplots(
        rows, columns, figsize=(FIGURE_WIDTH_IN, 2.2 * rows + (0 if spare else 0.3)), sharex=True, squeeze=False
    )
    for ax in axes.flat[len(pairs) :]:
        ax.set_axis_off()
    from scipy import stats as _stats

    likelihood = _stats.beta.pdf(grid, events + 1, n - events + 1)
    for ax, (name, (prior, post)) in zip(axes.flat, pairs.items(), strict=False):
        ax.fill_between(grid, likelihood, color="#dddddd", label="trial likelihood")
        ax.plot(grid, prior.pdf(grid), color=ROLE_COLOURS["earlier_treated"], ls="--", label="prior")
        ax.plot(grid, post.pdf(grid), color=ROLE_COLOURS["trial"], label="posterior")
        ax.set_title(mathtext(textwrap.fill(name, 40)), fontsize=9)
        ax.set_xlim(0, 0.8)
        _percent_axis(ax.xaxis)
        inner = grid > 0.01
        top = max(float(np.max(post.pdf(grid))), float(np.max(prior.pdf(grid[inner]))), float(likelihood.max()))
        ax.set_ylim(0, 1.15 * top)
        ax.set_xlabel(f"risk of {OUTCOME_LABELS[outcome]} (%)", fontsize=8)
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("density")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if spare:
        axes.flat[-1].legend(handles, labels, loc="center", fontsize=8, frameon=False)
        fig.tight_layout()
    else:
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0.3 / fig.get_size_inches()[1], 1, 1))
    return fig


def robust_weight_figure(curves: dict[str, pd.DataFrame], chosen_weight: float):
    """Posterior weight of the informative (MAP) part against the prior robust weight; the
    diagonal is 'no update of the weights'."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.8))
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
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.6))
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
    _percent_axis(ax.yaxis)
    ax.set_xlabel("a0: weight given to the earlier NK-treated patients")
    ax.set_ylabel(f"risk of {OUTCOME_LABELS[outcome]} under NK (%, posterior)")
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
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 3.3))
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
    ax.set_ylabel("cumulative incidence of BSI (%)")
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis)
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
    fig, axes = plt.subplots(1, 2, figsize=(FIGURE_WIDTH_IN, 3.4), sharey=True)
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
        ax.set_xlabel("bias as an odds-ratio factor", fontsize=9)
    axes[0].set_ylabel("SD of the bias (log odds ratio)", fontsize=9)
    fig.subplots_adjust(bottom=0.24)
    fig.text(0.45, 0.05, "(< 1: the studies overstate the benefit)", ha="center", va="bottom", fontsize=9)
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

    font, width, panel_height = 8, FIGURE_WIDTH_IN, 2.4
    left_in, gap_in, right_in, axis_in = 0.58, 0.72, 0.3, 0.42
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


def a0_posterior_figure(a0_grid, posterior_density, prior_density, posterior_mean: float):
    """Posterior density of the power-prior weight a0 under the normalized power prior, against
    its prior density (computed by the caller: :class:`nkreport.analysis.priors.NormalizedPowerPrior`)."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 2.6))
    ax.plot(a0_grid, posterior_density, color=ROLE_COLOURS["earlier_treated"], lw=1.8, label="posterior of $a_0$")
    ax.plot(a0_grid, prior_density, color="0.35", lw=1.2, ls="--", label="prior of $a_0$ (uniform)")
    ax.axvline(posterior_mean, color=ROLE_COLOURS["earlier_treated"], lw=0.9, ls=":",
               label=f"posterior mean {posterior_mean:.2f}")
    top = max(float(np.max(posterior_density)), float(np.max(prior_density)))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, top * 1.45)  # headroom: the key sits above the curves
    ax.set_xlabel("power-prior weight $a_0$ of the earlier NK-treated arms")
    ax.set_ylabel("density")
    ax.legend(frameon=False, loc="upper center", ncol=3)
    fig.tight_layout()
    return fig


def sbc_rank_histograms(results: dict[str, dict]):
    """Simulation-based calibration: for each model (a row) and parameter (a panel), the
    histogram of the true values' ranks among the posterior draws, with the count expected
    under uniformity and its binomial band (from :func:`nkreport.analysis.sbc.summarise`)."""
    models = list(results)
    columns = max(len(results[m]["parameters"]) for m in models)
    fig, axes = plt.subplots(len(models), columns, figsize=(FIGURE_WIDTH_IN, 1.75 * len(models) + 0.5), squeeze=False)
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
