"""The validation appendix's tables: nkreport against the peer tools, from the comparison
table of :func:`nkreport.analysis.peer_validation.comparison_table` (no computation here)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Display names of the comparison kinds.
KIND_LABELS = {
    "exact": "exact",
    "mcmc": "MCMC",
    "peer_imprecision": "peer less precise",
    "peer_error": "peer error",
    "peer_failure": "peer failure",
}


def _value(value: float) -> str:
    if not np.isfinite(value):
        return "failed"
    return f"{value:.10g}"


def _difference(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return "0" if value == 0 else f"{value:.1e}".replace("-", "−")


def comparison_display_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison: quantity, nkreport, peer, tool and version, difference,
    tolerance, verdict."""
    return pd.DataFrame(
        {
            "quantity": table["quantity"],
            "nkreport": [_value(v) for v in table["nkreport"]],
            "peer": [_value(v) for v in table["peer"]],
            "tool and version": table["tool"],
            "difference": [_difference(v) for v in table["difference"]],
            "tolerance": table["tolerance"],
            "verdict": table["verdict"],
        }
    )


def verdict_summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per tool folder: values compared, agreeing within tolerance, documented peer errors or
    failures, unexplained differences, and the largest |difference| among exact comparisons."""
    rows = []
    for folder, group in table.groupby("folder", sort=False):
        exact = group.loc[group["kind"] == "exact", "difference"].abs()
        rows.append(
            {
                "folder": f"validation/{folder}",
                "tools": ", ".join(dict.fromkeys(group["tool"])),
                "values": len(group),
                "agree": int(group["agrees"].sum()),
                "peer at fault (documented)": int((~group["agrees"] & group["as_documented"]).sum()),
                "unexplained": int((~group["as_documented"]).sum()),
                "largest exact difference": _difference(float(exact.max())) if len(exact) else "—",
            }
        )
    return pd.DataFrame(rows)


def notes_table(table: pd.DataFrame) -> pd.DataFrame:
    """The comparisons that carry a note (a definition or a known peer limitation)."""
    noted = table[table["note"].astype(bool)].drop_duplicates("note")
    return pd.DataFrame(
        {"quantity": noted["quantity"], "kind": noted["kind"].map(KIND_LABELS), "note": noted["note"]}
    )
