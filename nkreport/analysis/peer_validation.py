"""Agreement with the peer tools: the book's inputs for them, nkreport's value of every pinned
comparison, and the verdict.

The peer tools (RBesT, metafor, cmprsk, clinfun, exactci/exact2x2, Stan) are R packages, which
cannot be test dependencies. Their values are computed once by the scripts in ``validation/``
(one folder per tool) and pinned in ``validation/<tool>/reference.json``; the tests and the
book's validation appendix compare those pins with what nkreport computes now.

The flow is:

1. :func:`book_inputs` collects the book's inputs (counts from ``data/``, the book's MAP
   mixture, the Simon design cases of chapter 5, the competing-risks coding of the SIMULATED
   patient-level example) and ``validation/export_inputs.py`` writes them to
   ``validation/inputs.json``; every peer script reads that file, so no data are retyped.
2. Each peer script writes ``reference.json``: the tool and its version, a copy of the inputs
   it read, and one record per comparison (``id``, ``quantity``, ``peer``, optionally
   ``peer_mcse``).
3. :data:`COMPARISONS` maps every ``id`` to the nkreport function computing the same quantity
   from the same inputs, with its tolerance: ``exact`` quantities agree to
   :data:`EXACT_TOLERANCE`; ``mcmc`` quantities within :data:`MCSE_MULTIPLE` combined Monte
   Carlo standard errors; a ``peer_imprecision`` comparison has a wider, stated tolerance
   because the peer is known to be less accurate there (the reason is recorded).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..paths import project_root
from . import competing_risks, design, endpoints, map_model, meta_analysis, priors

#: Agreement required of quantities both tools compute exactly from the same input.
EXACT_TOLERANCE = 1e-8
#: Agreement required of Monte Carlo quantities, in combined Monte Carlo standard errors.
MCSE_MULTIPLE = 3.0
#: Days at which the cumulative incidence of the SIMULATED example is compared.
INCIDENCE_DAYS = (7, 14, 30, 60, 90)


def validation_dir(root: Path | None = None) -> Path:
    """The ``validation/`` folder of the project."""
    return (root or project_root()) / "validation"


# --------------------------------------------------------------------------- the inputs


def _mixture_dict(mix: priors.BetaMixture) -> dict:
    return {"w": list(mix.weights), "a": list(mix.a), "b": list(mix.b)}


def mixture_from_dict(record: dict) -> priors.BetaMixture:
    """The Beta mixture stored as ``{"w": [...], "a": [...], "b": [...]}``."""
    return priors.BetaMixture(tuple(record["w"]), tuple(record["a"]), tuple(record["b"]))


def count_inputs(cohorts: pd.DataFrame | None = None) -> dict:
    """The book's counts and settings the peers need (cheap: no model is fitted)."""
    from .. import data
    from ..data import patient_level
    from .comparative import build_evidence, empirical_log_odds_ratios

    cohorts = data.load_cohorts() if cohorts is None else cohorts
    trial = cohorts[cohorts["role"] == "trial"].set_index("outcome")
    earlier = map_model.earlier_studies(cohorts, "bsi")
    untreated_events, untreated_n = map_model.pooled_rate(cohorts, "bsi", "earlier_untreated")
    empirical = empirical_log_odds_ratios(build_evidence(data.load_cohorts(use="primary")))
    controls = endpoints.comparator_rows(cohorts, "bsi", ("earlier_untreated",))
    comparators = endpoints.comparator_rows(cohorts, "bsi")
    null_rates = sorted((comparators["events"] / comparators["n"]).round(3).unique())
    space = design.design_space(null_rates, design.TARGET_BSI_RATES, design.ALPHAS, design.POWERS, n_max=design.N_MAX)
    planned_n = int(data.load_trial_design()["planned_n"])
    near = design.near_size(space, planned_n, design.SIZE_TOLERANCE)
    simon_cases = (
        near.loc[near["design"].str.startswith("Simon"), ["p0", "p1", "alpha_target", "power_target"]]
        .drop_duplicates()
        .to_dict("records")
    )
    coded = competing_risks.competing_risks_coding(patient_level.load_simulated())
    return {
        "bsi_trial": {"events": int(trial.loc["bsi", "events"]), "n": int(trial.loc["bsi", "n"])},
        "rejection_trial": {"events": int(trial.loc["rejection", "events"]), "n": int(trial.loc["rejection", "n"])},
        "bsi_earlier": {
            "study": earlier["study"].tolist(),
            "events": [int(v) for v in earlier["events"]],
            "n": [int(v) for v in earlier["n"]],
        },
        "untreated": {"events": untreated_events, "n": untreated_n},
        "untreated_arms": {
            "study": controls["study"].tolist(),
            "events": [int(v) for v in controls["events"]],
            "n": [int(v) for v in controls["n"]],
        },
        "planned_n": planned_n,
        "map_tau_scale": map_model.TAU_SCALE,
        "map_mu_sd": map_model.MU_SD,
        "robust_weight": priors.ROBUST_WEIGHT,
        "oc_level": priors.OC_LEVEL,
        "oc_risks": [0.1, priors.OC_SCENARIO],
        "fixed_a0": priors.FIXED_A0,
        "power_initial": list(priors.POWER_INITIAL),
        "morita_c": priors.MORITA_C,
        "comparative_tables": {
            "study": empirical["study"].tolist(),
            "table": [list(t) for t in empirical["table"]],
            "log_or": empirical["log_or"].tolist(),
            "variance": empirical["variance"].tolist(),
        },
        "simon_cases": [{k: float(v) for k, v in case.items()} for case in simon_cases],
        "simon_n_max": design.N_MAX,
        "simulated_ipd": {"time": coded["time"].tolist(), "event": [int(v) for v in coded["event"]]},
        "incidence_days": list(INCIDENCE_DAYS),
    }


def book_inputs(cohorts: pd.DataFrame | None = None) -> dict:
    """:func:`count_inputs` and the book's MAP prior for BSI (the Beta mixture chapter 7
    robustifies; this samples the MAP model, or reads the stored fit)."""
    from .. import data

    cohorts = data.load_cohorts() if cohorts is None else cohorts
    inputs = count_inputs(cohorts)
    inputs["map_mixture"] = _mixture_dict(map_model.map_prior(cohorts, "bsi").mixture)
    return inputs


# --------------------------------------------------------------------------- nkreport's values


@dataclass(frozen=True)
class Comparison:
    """How nkreport computes one pinned quantity and how closely it must agree."""

    compute: Callable[[dict, dict], float]  # (inputs, record) -> nkreport's value
    kind: str = "exact"  # exact | mcmc | peer_imprecision
    tolerance: float = EXACT_TOLERANCE  # absolute; for mcmc, the multiple of the combined MCSE
    note: str = ""


def _trial(inputs):
    return inputs["bsi_trial"]["events"], inputs["bsi_trial"]["n"]


def _map(inputs):
    return mixture_from_dict(inputs["map_mixture"])


def _robust(inputs):
    return priors.robustify(_map(inputs), inputs["robust_weight"])


def _untreated_rate(inputs):
    return inputs["untreated"]["events"] / inputs["untreated"]["n"]


def _oc(prior, inputs, risk):
    n = inputs["planned_n"]
    success = priors.success_counts(prior, n, _untreated_rate(inputs), inputs["oc_level"])
    return float(stats.binom.pmf(np.arange(n + 1), n, risk)[success].sum())


def _posterior(prior_fn):
    def post(inputs):
        return prior_fn(inputs).posterior(*_trial(inputs))

    return post


def _simon(record_case, kind):
    case = record_case
    found = design.simon_designs(1 - case["p0"], 1 - case["p1"], case["alpha_target"], 1 - case["power_target"],
                                 n_max=case.get("n_max", design.N_MAX))[kind]
    return found


def _power_prior(inputs):
    earlier = inputs["bsi_earlier"]
    return priors.power_prior(earlier["events"], earlier["n"], inputs["fixed_a0"], tuple(inputs["power_initial"]))


def _quadrature(inputs, events_key="bsi_earlier"):
    studies = inputs[events_key]
    return map_model.map_quadrature(studies["events"], studies["n"], tau_scale=inputs["map_tau_scale"],
                                    mu_sd=inputs["map_mu_sd"])


def _example_quadrature(record):
    example = record["example"]
    return map_model.map_quadrature(example["events"], example["n"], tau_scale=example["tau_scale"],
                                    mu_sd=example["mu_sd"])


def _incidence(inputs, day):
    ipd = inputs["simulated_ipd"]
    from lifelines import AalenJohansenFitter

    fitter = AalenJohansenFitter(seed=competing_risks.SEED)
    fitter.fit(pd.Series(ipd["time"]), pd.Series(ipd["event"]), event_of_interest=competing_risks.BSI)
    return competing_risks.incidence_at(fitter, day)


def _meta(method, field):
    def compute(inputs, record):
        source = record.get("example") or inputs["comparative_tables"]
        y = np.asarray(source["log_or"] if "log_or" in source else source["yi"])
        v = np.asarray(source["variance"] if "variance" in source else source["vi"])
        if method == "peto":
            result = meta_analysis.peto([tuple(t) for t in source["table"]])
        elif method == "dl":
            result = meta_analysis.dersimonian_laird(y, v)
        elif method == "reml":
            result = meta_analysis.reml(y, v)
        else:
            return meta_analysis.q_statistic(y, v)
        return float(result[field])

    return compute


COMPARISONS: dict[str, Comparison] = {}


def _register(prefix: str, **entries: Comparison) -> None:
    for name, entry in entries.items():
        COMPARISONS[f"{prefix}.{name}"] = entry


# RBesT: Beta mixtures, ESS, robustification, conjugate posteriors, Box p-values, OCs
_register(
    "rbest",
    map_posterior_mean=Comparison(lambda i, r: _posterior(_map)(i).mean()),
    map_posterior_sd=Comparison(lambda i, r: _posterior(_map)(i).sd()),
    map_posterior_cdf_untreated=Comparison(lambda i, r: float(_posterior(_map)(i).cdf(_untreated_rate(i)))),
    robust_posterior_mean=Comparison(lambda i, r: _posterior(_robust)(i).mean()),
    robust_posterior_sd=Comparison(lambda i, r: _posterior(_robust)(i).sd()),
    robust_posterior_cdf_untreated=Comparison(lambda i, r: float(_posterior(_robust)(i).cdf(_untreated_rate(i)))),
    robust_posterior_informative_weight=Comparison(lambda i, r: priors.informative_weight(_posterior(_robust)(i))),
    robust_prior_mean=Comparison(lambda i, r: _robust(i).mean()),
    robust_prior_sd=Comparison(lambda i, r: _robust(i).sd()),
    map_prior_mean=Comparison(lambda i, r: _map(i).mean()),
    map_prior_sd=Comparison(lambda i, r: _map(i).sd()),
    box_p_map=Comparison(lambda i, r: priors.box_p_value(_map(i), *_trial(i)).box_p),
    box_p_robust=Comparison(lambda i, r: priors.box_p_value(_robust(i), *_trial(i)).box_p),
    predictive_pmf_observed=Comparison(lambda i, r: float(_map(i).predictive_pmf(_trial(i)[0], _trial(i)[1]))),
    ess_moment_map=Comparison(lambda i, r: priors.ess_moment(_map(i))),
    ess_moment_robust=Comparison(lambda i, r: priors.ess_moment(_robust(i))),
    ess_morita_mode_map=Comparison(
        lambda i, r: priors.ess_morita(_map(i), at="mode", c=i["morita_c"]), kind="peer_imprecision", tolerance=1e-3,
        note="both at the mode (RBesT's choice; the book reports Morita at the mean); the mode is found "
        "numerically by both tools",
    ),
    ess_morita_mode_robust=Comparison(
        lambda i, r: priors.ess_morita(_robust(i), at="mode", c=i["morita_c"]), kind="peer_imprecision",
        tolerance=1e-3, note="both at the mode; the mode is found numerically by both tools",
    ),
    ess_elir_map=Comparison(
        lambda i, r: priors.ess_elir(_map(i)), kind="peer_imprecision", tolerance=2e-3,
        note="RBesT 1.6 integrates ELIR on the probability scale with default tolerances (drifts by about 1e-3)",
    ),
    ess_elir_robust=Comparison(
        lambda i, r: priors.ess_elir(_robust(i)), kind="peer_imprecision", tolerance=2e-3,
        note="RBesT 1.6 integrates ELIR on the probability scale with default tolerances (drifts by about 1e-3)",
    ),
    oc_map_at_10=Comparison(lambda i, r: _oc(_map(i), i, 0.1)),
    oc_map_at_scenario=Comparison(lambda i, r: _oc(_map(i), i, i["oc_risks"][1])),
    oc_map_at_untreated=Comparison(lambda i, r: _oc(_map(i), i, _untreated_rate(i))),
    oc_robust_at_10=Comparison(lambda i, r: _oc(_robust(i), i, 0.1)),
    oc_robust_at_scenario=Comparison(lambda i, r: _oc(_robust(i), i, i["oc_risks"][1])),
    oc_robust_at_untreated=Comparison(lambda i, r: _oc(_robust(i), i, _untreated_rate(i))),
    power_prior_posterior_mean=Comparison(lambda i, r: _posterior(_power_prior)(i).mean()),
    power_prior_posterior_low=Comparison(lambda i, r: _posterior(_power_prior)(i).interval()[0]),
    power_prior_posterior_high=Comparison(lambda i, r: _posterior(_power_prior)(i).interval()[1]),
    map_quadrature_mean=Comparison(
        lambda i, r: _quadrature(i).predictive_mean, kind="mcmc",
        note="RBesT gMAP (Stan, MCMC) against nkreport's exact quadrature of the same model",
    ),
    map_quadrature_median=Comparison(lambda i, r: _quadrature(i).predictive_quantile(0.5), kind="mcmc"),
    map_quadrature_tau_mean=Comparison(lambda i, r: _quadrature(i).tau_mean, kind="mcmc"),
    example_as_map_mean=Comparison(
        lambda i, r: _example_quadrature(r).predictive_mean, kind="mcmc",
        note="RBesT's documented example (AS: eight placebo arms), same priors",
    ),
    example_as_map_tau_mean=Comparison(lambda i, r: _example_quadrature(r).tau_mean, kind="mcmc"),
)

_REML_NOTE = "REML is an iterative maximum (bounded search; Fisher scoring): agreement to about 1e-8"
# metafor: DerSimonian-Laird, REML and Peto on the book's comparative studies and on dat.bcg
for _source in ("book", "bcg"):
    for _method, _fields in (("dl", ("tau2", "log_or", "se")), ("reml", ("tau2", "log_or", "se")),
                             ("peto", ("log_or", "se"))):
        for _field in _fields:
            tolerance = 1e-6 if _method == "reml" else EXACT_TOLERANCE
            COMPARISONS[f"metafor.{_source}.{_method}.{_field}"] = Comparison(
                _meta(_method, _field), tolerance=tolerance,
                kind="exact" if _method != "reml" else "peer_imprecision",
                note="" if _method != "reml" else _REML_NOTE,
            )
    COMPARISONS[f"metafor.{_source}.q"] = Comparison(_meta("q", None))

# cmprsk: Aalen-Johansen cumulative incidence of the SIMULATED example
for _day in INCIDENCE_DAYS:
    COMPARISONS[f"cmprsk.cif_day_{_day}"] = Comparison(lambda i, r, d=_day: _incidence(i, d))


def _simon_field(field):
    def compute(inputs, record):
        found = _simon(record["case"], record["kind"])
        return float(getattr(found, field))

    return compute


for _field in ("r1", "n1", "r", "n", "en0", "pet0"):
    COMPARISONS[f"clinfun.simon.{_field}"] = Comparison(_simon_field(_field))


def _interval_field(method, side):
    def compute(inputs, record):
        arm = inputs[record["arm"]]
        table = endpoints.binomial_intervals(arm["events"], arm["n"]).set_index("method")
        return float(table.loc[method, side])

    return compute


def _two_sample_field(field):
    def compute(inputs, record):
        arm = inputs["bsi_trial"]
        controls = inputs["untreated_arms"]
        k = controls["study"].index(record["control"])
        return float(endpoints.two_sample_comparison(arm["events"], arm["n"], controls["events"][k],
                                                     controls["n"][k])[field])

    return compute


for _side in ("low", "high"):
    COMPARISONS[f"exactci.clopper_pearson.{_side}"] = Comparison(_interval_field("clopper_pearson", _side))
    COMPARISONS[f"exactci.mid_p_tight.{_side}"] = Comparison(_interval_field("mid_p", _side))
    COMPARISONS[f"exactci.mid_p.{_side}"] = Comparison(
        _interval_field("mid_p", _side), kind="peer_imprecision", tolerance=1e-4,
        note="exactci solves the mid-p limits with uniroot at its default tolerance (about 1e-4 in p); the "
        "same equations solved tightly in R agree with nkreport to 1e-8 (the mid_p_tight rows)",
    )
COMPARISONS["exactci.binomial_p_lower"] = Comparison(
    lambda i, r: endpoints.one_sided_binomial_tests(i["bsi_trial"]["events"], i["bsi_trial"]["n"],
                                                    r["rate"])["p_lower"]
)
for _field in ("fisher_p", "fisher_p_lower"):
    COMPARISONS[f"exact2x2.{_field}"] = Comparison(_two_sample_field(_field))
for _field in ("boschloo_p", "boschloo_p_lower"):
    COMPARISONS[f"exact2x2.{_field}"] = Comparison(
        _two_sample_field(_field), kind="peer_imprecision", tolerance=1e-6,
        note="Boschloo's p is a maximum over the nuisance rate, found numerically by both tools (exact2x2 on "
        "a grid of 20 000 points, scipy by global optimisation); two-sided = twice the smaller one-sided p "
        "(exact2x2's 'central', scipy's convention)",
    )


# --------------------------------------------------------------------------- comparing


def comparison_key(record_id: str) -> str:
    """The :data:`COMPARISONS` key of a pinned record: its id without a ``[...]`` case suffix."""
    return record_id.split("[", 1)[0]


def load_references(root: Path | None = None) -> dict[str, dict]:
    """Every ``validation/<tool>/reference.json``, by tool folder name."""
    folder = validation_dir(root)
    found = {}
    for path in sorted(folder.glob("*/reference.json")):
        found[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return found


def nkreport_value(reference: dict, record: dict) -> float:
    """nkreport's value of one pinned record, from the inputs the peer read."""
    entry = COMPARISONS[comparison_key(record["id"])]
    return float(entry.compute(reference["inputs"], record))


def verdict(record: dict, value: float) -> dict:
    """Difference, tolerance and verdict of one pinned record against nkreport's ``value``."""
    entry = COMPARISONS[comparison_key(record["id"])]
    peer = float(record["peer"])
    difference = value - peer
    if entry.kind == "mcmc":
        mcse = float(np.hypot(record.get("peer_mcse", 0.0), record.get("nkreport_mcse", 0.0)))
        allowed = MCSE_MULTIPLE * mcse
        tolerance_text = f"{MCSE_MULTIPLE:g} MCSE ({allowed:.1e})"
    else:
        allowed = entry.tolerance
        tolerance_text = f"{allowed:.0e}"
    agrees = bool(np.isfinite(value) and np.isfinite(peer) and abs(difference) <= allowed)
    return {
        "difference": difference,
        "allowed": allowed,
        "tolerance": tolerance_text,
        "kind": entry.kind,
        "agrees": agrees,
        "verdict": "agrees" if agrees else "differs",
        "note": record.get("note") or entry.note,
    }


def comparison_table(references: dict[str, dict] | None = None, root: Path | None = None) -> pd.DataFrame:
    """One row per pinned value: quantity, nkreport, peer, tool and version, difference,
    tolerance, verdict."""
    references = load_references(root) if references is None else references
    rows = []
    for tool, reference in references.items():
        for record in reference["comparisons"]:
            value = nkreport_value(reference, record)
            rows.append(
                {
                    "folder": tool,
                    "id": record["id"],
                    "quantity": record["quantity"],
                    "nkreport": value,
                    "peer": float(record["peer"]),
                    "tool": f"{record.get('tool', reference['tool'])} {record.get('version', reference['version'])}",
                    **verdict(record, value),
                }
            )
    return pd.DataFrame(rows)


__all__ = [
    "COMPARISONS",
    "Comparison",
    "EXACT_TOLERANCE",
    "MCSE_MULTIPLE",
    "book_inputs",
    "comparison_table",
    "count_inputs",
    "load_references",
    "mixture_from_dict",
    "nkreport_value",
    "validation_dir",
    "verdict",
]
