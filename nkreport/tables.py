"""One function per table the book shows; each returns a pandas DataFrame ready to display."""

from __future__ import annotations

import pandas as pd

from .endpoints import clopper_pearson
from .results import fmt_interval, fmt_percent
from .schema import OUTCOME_LABELS, ROLE_LABELS


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
        rows.append({
            "characteristic": row.characteristic,
            "category": row.category,
            "summary": summary,
            "statistic": kind,
            "verified": row.verified,
        })
    return pd.DataFrame(rows)


def cohort_table(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Every cohort row with its proportion, exact 95 % CI, window, source and verified flag."""
    low, high = clopper_pearson(cohorts["events"], cohorts["n"])
    window = cohorts["window_days"].astype("object").where(cohorts["window_days"].notna(), "not stated")
    table = pd.DataFrame({
        "study": cohorts["study"],
        "role": cohorts["role"].map(ROLE_LABELS),
        "outcome": cohorts["outcome"].map(OUTCOME_LABELS),
        "events/n": [f"{e}/{n}" for e, n in zip(cohorts["events"], cohorts["n"])],
        "% (exact 95 % CI)": [
            f"{fmt_percent(e / n)} ({fmt_interval(lo, hi)})"
            for e, n, lo, hi in zip(cohorts["events"], cohorts["n"], low, high)
        ],
        "window (days)": window,
        "source": cohorts["source"],
        "location": cohorts["location"],
        "verified": cohorts["verified"],
    })
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


def to_myst_table(frame: pd.DataFrame, name: str, caption: str) -> str:
    """A MyST ``{table}`` directive (numbered, captioned, referable) for a DataFrame.

    Rendered from a cell with ``mystnb: markdown_format: myst`` it becomes a real table in both
    HTML and LaTeX, rather than a picture or raw HTML.
    """

    def cell(value) -> str:
        text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([f"```{{table}} {cell(caption)}", f":name: {name}", "", header, rule, *body, "```"])
