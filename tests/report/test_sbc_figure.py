"""The SBC rank-histogram figure is readable at its printed size: at most 6.3 in wide, text at
least 8 pt, drawn from pinned summaries (no computation in the figure)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nkreport.report import figures  # noqa: E402


def test_the_sbc_figure_is_readable(root):
    pinned = root / "validation" / "sbc" / "sbc_result.json"
    results = json.loads(pinned.read_text(encoding="utf-8"))["models"]
    fig = figures.sbc_rank_histograms(results)
    try:
        assert fig.get_size_inches()[0] <= 6.3
        fig.canvas.draw()
        for text in fig.findobj(matplotlib.text.Text):
            if text.get_visible() and text.get_text().strip():
                assert text.get_fontsize() >= 8, text.get_text()
        panels = sum(len(m["parameters"]) for m in results.values())
        assert sum(1 for ax in fig.axes if ax.axison) == panels
    finally:
        plt.close(fig)
