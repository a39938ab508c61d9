"""Every figure the book shows is readable at its printed size: drawn no wider than the PDF's
text width (so LaTeX never scales it down) and with no text below 8 pt there.

Each figure function is called with inputs shaped like the chapters' (the real cohorts where
they are cheap to compute, small stand-ins of the analysis tables otherwise, with labels as long
as the chapters'); :func:`nkreport.report.figures.printed_size` measures the figure as the
notebook display saves it (tight bounding box plus padding).
"""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from nkreport import data  # noqa: E402
from nkreport.analysis import baseline, endpoints, sensitivity  # noqa: E402
from nkreport.report import figures  # noqa: E402

TRIAL = (6, 19)


@pytest.fixture(scope="module")
def cohorts():
    return data.load_cohorts()


def _predictive_curves():
    rules = [f"success if ≤ {r} BSIs of {n}" for n, r in zip(range(30, 40), range(4, 14), strict=True)]
    failures = np.arange(0, 20)
    return pd.DataFrame(
        [
            {"rule": rule, "failures": f, "predictive_probability": float(stats.norm.sf(f, 4 + k, 2))}
            for k, rule in enumerate(rules)
            for f in failures
        ]
    )


def _design_space():
    rows = []
    for alpha in (0.05, 0.10):
        for power in (0.80, 0.90):
            for p0 in (0.20, 0.25, 0.30, 0.35, 0.40, 0.45):
                for p1 in np.linspace(0.05, p0 - 0.05, 5):
                    n = int(10 + 4 / (p0 - p1) ** 1.2 * (power - 0.5) / alpha**0.3)
                    rows.append(
                        {
                            "design": "single-stage",
                            "alpha_target": alpha,
                            "power_target": power,
                            "p0": p0,
                            "p1": p1,
                            "n": n,
                        }
                    )
    return pd.DataFrame(rows)


def _comparative_rows():
    kinds = ["observed", "observed", "study_model", "study_model", "trial", "pooled", "predictive"]
    kinds += ["pooled", "predictive", "pooled_adjusted", "predictive_adjusted"]
    labels = [
        "Kim SH 2020 (Samsung LDLT 2008-2016)  NK 3/40 vs 108/727",
        "Ohira 2006 earlier cohort  NK 2/24 vs 9/31",
        "Kim SH 2020 (Samsung LDLT 2008-2016) (model, with trial)",
        "Ohira 2006 earlier cohort (model, with trial)",
        "Ohira 2025 trial  NK 6/19 (implied, exchangeable baseline)",
        "pooled, without the trial",
        "new study, without the trial",
        "pooled, with the trial",
        "new study, with the trial",
        "pooled, with the trial, adjusted for a shared bias",
        "new study, with the trial, adjusted for a shared bias",
    ]
    centre = np.linspace(-1.5, 0.5, len(kinds))
    return pd.DataFrame({"label": labels, "kind": kinds, "median": centre, "low": centre - 1.2, "high": centre + 1.0})


def _sensitivity_table():
    """The chapter's settings and their names (from the analysis), with stand-in estimates."""
    rows = []
    for k, (group, assumption, _) in enumerate(sensitivity.sensitivity_settings()):
        centre = -0.8 + 0.05 * k
        rows.append(
            {
                "group": group,
                "assumption": assumption,
                "pooled_median": centre,
                "pooled_low": centre - 1.0,
                "pooled_high": centre + 0.9,
                "trial_median": centre + 0.3,
                "trial_low": centre - 1.5,
                "trial_high": centre + 1.8,
                "pooled_p_or_below_1": 0.95 - 0.02 * k,
            }
        )
    return pd.DataFrame(rows), sensitivity.GROUPS


def _assurance_curves():
    n = np.arange(20, 401, 20)
    return {
        name: pd.DataFrame({"n_per_arm": n, "assurance": ceiling * (1 - np.exp(-n / 120)), "p_beneficial": ceiling})
        for name, ceiling in (
            ("pooled effect, with the trial", 0.8),
            ("new centre (predictive)", 0.7),
            ("bias-adjusted, new centre", 0.6),
            ("sceptical: centred on no effect", 0.5),
        )
    }


def _rct_oc():
    risk = np.linspace(0.1, 0.5, 9)
    frames = []
    for design in ("two-arm, 1:1, Fisher one-sided", "two-arm, Bayesian borrowing from the MAP prior"):
        for odds_ratio, level in ((1.0, 0.025), (0.5, 0.8)):
            frames.append(
                pd.DataFrame(
                    {
                        "design": design,
                        "control_risk": risk,
                        "odds_ratio": odds_ratio,
                        "probability_of_success": level + 0.05 * risk,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _map_summary():
    return pd.DataFrame(
        {
            "study": ["Ohira 2006 earlier cohort, NK-treated arm", "Ohira 2010 second cohort", "MAP prior, new study"],
            "events": [2, 3, np.nan],
            "n": [24, 14, np.nan],
            "raw": [2 / 24, 3 / 14, np.nan],
            "mean": [0.12, 0.18, 0.16],
            "low": [0.03, 0.06, 0.02],
            "high": [0.28, 0.36, 0.55],
        }
    )


def _fitter():
    days = np.arange(0, 91)
    curve = 0.3 * (1 - np.exp(-days / 10))
    return SimpleNamespace(
        cumulative_density_=pd.DataFrame({"CIF_1": curve}, index=days),
        confidence_interval_=pd.DataFrame({"low": curve * 0.6, "high": np.minimum(1, curve * 1.5)}, index=days),
        alpha=0.05,
    )


def _bias_grid():
    means = np.log([0.2, 0.3, 0.5, 0.7, 1.0, 1.5])
    sds = np.linspace(0, 1, 6)
    return pd.DataFrame(
        [
            {
                "bias_mean": m,
                "bias_sd": s,
                "p_pooled_below_0": float(stats.norm.cdf(1.5 + m - s)),
                "p_new_below_0": float(stats.norm.cdf(1.0 + m - s)),
            }
            for m in means
            for s in sds
        ]
    )


def _sbc_models():
    """The pinned simulation-based calibration result the validation appendix draws."""
    from nkreport.analysis import peer_validation

    return peer_validation.load_sbc_result()["models"]


def _figures(cohorts):
    """Every figure function of :mod:`nkreport.report.figures`, called as a chapter calls it."""
    mixture = SimpleNamespace(pdf=stats.beta(2, 10).pdf, n_components=3)
    priors = {
        "MAP prior (mixture of three Betas)": stats.beta(2, 10),
        "robust MAP prior, weight 0.2 on Beta(1, 1)": stats.beta(1.5, 6),
        "power prior, a0 = 0.5 on the earlier arms": stats.beta(3, 12),
    }
    pairs = {name: (prior, stats.beta(prior.args[0] + 6, prior.args[1] + 13)) for name, prior in priors.items()}
    weights = pd.DataFrame(
        {"robust_weight": np.linspace(0, 1, 11), "posterior_informative_weight": np.linspace(1, 0, 11)}
    )
    sweep = pd.DataFrame(
        {
            "a0": np.linspace(0, 1, 11),
            "posterior_mean": np.linspace(0.32, 0.2, 11),
            "low": np.linspace(0.15, 0.1, 11),
            "high": np.linspace(0.55, 0.32, 11),
        }
    )
    return {
        "flow_figure": lambda: figures.flow_figure(37, 19, 6, 30),
        "forest_raw bsi": lambda: figures.forest_raw(cohorts, "bsi"),
        "forest_raw rejection": lambda: figures.forest_raw(cohorts, "rejection"),
        "interval_comparison": lambda: figures.interval_comparison(endpoints.binomial_intervals(*TRIAL), 31.6),
        "predictive_curves": lambda: figures.predictive_curves(_predictive_curves(), 6, 19),
        "design_size_map": lambda: figures.design_size_map(_design_space(), 37, 3),
        "comparative_forest": lambda: figures.comparative_forest(_comparative_rows()),
        "sensitivity_panels": lambda: figures.sensitivity_panels(*_sensitivity_table()),
        "assurance_curves": lambda: figures.assurance_curves(_assurance_curves(), 0.025),
        "rct_oc_figure": lambda: figures.rct_oc_figure(_rct_oc(), 0.5),
        "map_forest": lambda: figures.map_forest(_map_summary(), trial=TRIAL),
        "mixture_fit_figure": lambda: figures.mixture_fit_figure(
            stats.beta(2, 10).rvs(4000, random_state=1), mixture, stats.beta(2, 10).pdf
        ),
        "prior_posterior_figure": lambda: figures.prior_posterior_figure(pairs, TRIAL),
        "robust_weight_figure": lambda: figures.robust_weight_figure(
            {"BSI, trial 6/19": weights, "rejection, trial 7/19": weights}, 0.2
        ),
        "power_prior_figure": lambda: figures.power_prior_figure(
            sweep, {"a0_mean": 0.4, "mean": 0.25, "low": 0.12, "high": 0.4}, TRIAL
        ),
        "sbc_rank_histograms": lambda: figures.sbc_rank_histograms(_sbc_models()),
        "a0_posterior_figure": lambda: figures.a0_posterior_figure(
            np.linspace(0, 1, 101), 2 * (1 - np.linspace(0, 1, 101)) + 0.3, np.ones(101), 0.36
        ),
        "plot_cumulative_incidence": lambda: figures.plot_cumulative_incidence(
            _fitter(), "SIMULATED example, 40 simulated patients", window_days=30
        ),
        "bias_tipping_figure": lambda: figures.bias_tipping_figure(_bias_grid()),
        "baseline_tipping_figure": lambda: figures.baseline_tipping_figure(
            baseline.implied_effect_curve(*TRIAL), baseline.untreated_rates(cohorts)
        ),
    }


FIGURE_NAMES = list(_figures(None))


def test_every_figure_function_is_measured():
    functions = {
        name
        for name, value in vars(figures).items()
        if callable(value) and getattr(value, "__module__", "") == figures.__name__ and not name.startswith("_")
    }
    functions -= {"printed_size"}
    assert functions == {name.split()[0] for name in FIGURE_NAMES}


@pytest.mark.filterwarnings("error::UserWarning")  # e.g. a layout that does not fit ("Tight layout not applied")
@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_figure_is_readable_at_its_printed_size(cohorts, name):
    fig = _figures(cohorts)[name]()
    try:
        width, scale, smallest = figures.printed_size(fig)
        assert width <= figures.TEXT_WIDTH_IN, f"{name}: {width:.2f} in wide, printed at {scale:.0%}"
        assert smallest >= figures.MIN_TEXT_PT, f"{name}: smallest text {smallest:.1f} pt at the printed size"
        fig.canvas.draw()
        height = fig.get_tightbbox(fig.canvas.get_renderer()).height + 2 * figures.SAVE_PAD_IN
        assert height <= figures.MAX_FIGURE_HEIGHT_IN, f"{name}: {height:.2f} in tall, no room for its caption"
    finally:
        plt.close(fig)


def test_printed_size_scales_a_wide_figure():
    """A figure wider than the text is printed scaled down, and its text with it."""
    fig, ax = plt.subplots(figsize=(2 * figures.TEXT_WIDTH_IN, 3))
    ax.set_title("title", fontsize=10)
    ax.tick_params(labelsize=10)
    ax.xaxis.label.set_fontsize(10)
    try:
        width, scale, smallest = figures.printed_size(fig)
        assert width > 1.5 * figures.TEXT_WIDTH_IN
        assert scale == pytest.approx(figures.TEXT_WIDTH_IN / width)
        assert smallest == pytest.approx(10 * scale)
    finally:
        plt.close(fig)


def test_pdf_figures_embed_truetype_fonts():
    """The style saves PDF text as TrueType (Type 42), which preflight checks accept, not Type 3."""
    import io

    fig = figures.flow_figure(37, 19, 6, 30)
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="pdf")
    finally:
        plt.close(fig)
    content = buffer.getvalue()
    assert b"/Subtype /TrueType" in content or b"/Subtype /CIDFontType2" in content
    assert b"/Subtype /Type3" not in content


def _drawn_texts(fig) -> list[tuple[str, object]]:
    """Every text the renderer draws (not tick labels outside the view), with its extent."""
    from unittest import mock

    from matplotlib.text import Text

    drawn = []
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return original(self, renderer)

    with mock.patch.object(Text, "draw", record):
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # Text's own extent: an annotation's would include its leader line
    return [(t.get_text(), Text.get_window_extent(t, renderer)) for t in drawn]


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_no_two_texts_of_a_figure_overlap(cohorts, name):
    fig = _figures(cohorts)[name]()
    try:
        texts = _drawn_texts(fig)
        assert texts
        overlapping = [(a[0], b[0]) for i, a in enumerate(texts) for b in texts[i + 1 :] if a[1].overlaps(b[1])]
        assert overlapping == [], name
    finally:
        plt.close(fig)
