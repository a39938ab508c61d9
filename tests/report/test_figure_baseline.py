"""The baseline tipping-point figure is readable at its printed size: drawn from the tables
of :mod:`nkreport.analysis.baseline`, text at least 8 pt, nothing clipped or overlapping."""

from __future__ import annotations

import pytest

from nkreport import data
from nkreport.analysis import baseline

TRIAL = (6, 19)


@pytest.fixture(scope="module")
def rates():
    return baseline.untreated_rates(data.load_cohorts())


# --------------------------------------------------------------------------- the figure (drawn from the tables)


def _drawn_texts(fig):
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # Text's own extent: an annotation's would include its leader line
    return [
        (t.get_text(), t.get_fontsize(), Text.get_window_extent(t, renderer))
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]


@pytest.mark.parametrize("close_rates", [False, True])
def test_the_figure_is_readable_at_its_printed_size(rates, close_rates):
    """Width at most 6.5 in, every text at least 8 pt, inside the figure, no two texts overlapping
    (also when several untreated rates nearly coincide)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nkreport.report import figures

    table = rates.copy()
    if close_rates:
        table["comparator_rate"] = [0.30, 0.301, 0.302, 0.31, 0.05, 0.60]
    fig = figures.baseline_tipping_figure(baseline.implied_effect_curve(*TRIAL), table)
    try:
        assert fig.get_size_inches()[0] <= 6.5
        texts = _drawn_texts(fig)
        box = fig.bbox
        for text, size, extent in texts:
            assert size >= 8, text
            assert box.x0 - 0.5 <= extent.x0 and extent.x1 <= box.x1 + 0.5, text
            assert box.y0 - 0.5 <= extent.y0 and extent.y1 <= box.y1 + 0.5, text
        overlapping = [(a[0], b[0]) for i, a in enumerate(texts) for b in texts[i + 1 :] if a[2].overlaps(b[2])]
        assert overlapping == []
        key = {text for text, _, _ in texts}
        for number, label in enumerate(table.sort_values("comparator_rate")["label"], start=1):
            assert any(t.startswith(f"{number}  {label}") for t in key), label
    finally:
        plt.close(fig)
