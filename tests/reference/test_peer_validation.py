"""nkreport against the peer tools' pinned values (``validation/<tool>/reference.json``).

One test per pinned value, so a value that moves fails by name. The pins were computed by the R
scripts in ``validation/``; these tests need only the JSON files (CI has no R). Tolerances and
the nkreport function of each comparison are in
:data:`nkreport.analysis.peer_validation.COMPARISONS`.
"""

from __future__ import annotations

import copy
import functools
import json
import math

import pytest

from nkreport.analysis import peer_validation
from nkreport.paths import project_root

REFERENCES = peer_validation.load_references(project_root())
PINNED = [
    pytest.param(tool, record, id=record["id"])
    for tool, reference in REFERENCES.items()
    for record in reference["comparisons"]
]
TOOL_FOLDERS = ("rbest", "metafor", "cmprsk", "clinfun", "exactci", "stan")


def test_every_peer_folder_has_its_script_readme_and_pins():
    folder = peer_validation.validation_dir(project_root())
    for tool in TOOL_FOLDERS:
        assert (folder / tool / "README.md").is_file(), tool
        assert (folder / tool / "regenerate.sh").is_file(), tool
    assert set(REFERENCES) == set(TOOL_FOLDERS)


@pytest.mark.parametrize("tool, record", PINNED)
def test_nkreport_agrees_with_pinned_peer_value(tool, record):
    reference = REFERENCES[tool]
    value, mcse = peer_validation.nkreport_estimate(reference, record)
    result = peer_validation.verdict(record, value, mcse)
    # agreement within tolerance, or (kind peer_error) exactly the documented gap
    assert result["as_documented"], (
        f"{record['id']}: nkreport {value!r}, {reference['tool']} {record['peer']!r}, "
        f"difference {result['difference']:.3g} beyond {result['tolerance']}"
    )


@functools.lru_cache(maxsize=1)
def _current_inputs() -> dict:
    return json.loads(json.dumps(peer_validation.count_inputs()))


def _same(pinned, current) -> bool:
    """Equal, numbers to 1e-12 relative (R writes doubles with 15 significant digits)."""
    if isinstance(current, dict):
        return isinstance(pinned, dict) and pinned.keys() == current.keys() and all(
            _same(pinned[k], current[k]) for k in current
        )
    if isinstance(current, list):
        return isinstance(pinned, list) and len(pinned) == len(current) and all(map(_same, pinned, current))
    if isinstance(current, float | int) and not isinstance(current, bool):
        return isinstance(pinned, float | int) and math.isclose(pinned, current, rel_tol=1e-12, abs_tol=1e-300)
    return pinned == current


@pytest.mark.parametrize("tool", sorted(REFERENCES))
def test_pins_were_computed_on_the_books_current_inputs(tool):
    pinned = REFERENCES[tool]["inputs"]
    for key, value in _current_inputs().items():
        assert _same(pinned[key], value), f"{tool}: input {key!r} changed since the pins; run regenerate.sh"


@pytest.mark.parametrize("kind", ["exact", "peer_imprecision", "mcmc", "peer_error"])
def test_an_altered_pinned_value_fails_the_comparison(kind):
    candidates = [
        (tool, record)
        for tool, reference in REFERENCES.items()
        for record in reference["comparisons"]
        if peer_validation.COMPARISONS[peer_validation.comparison_key(record["id"])].kind == kind
    ]
    if not candidates:
        pytest.skip(f"no pinned value of kind {kind}")
    tool, record = candidates[0]
    value, mcse = peer_validation.nkreport_estimate(REFERENCES[tool], record)
    assert peer_validation.verdict(record, value, mcse)["as_documented"]
    altered = copy.deepcopy(record)
    allowed = peer_validation.verdict(record, value, mcse)["allowed"]
    altered["peer"] = float(record["peer"]) + 2 * allowed + 1e-6
    assert not peer_validation.verdict(altered, value, mcse)["as_documented"]


def test_peer_failures_are_the_documented_ones():
    """A value the peer could not compute is listed under ``failures``. RBesT 1.6's ELIR integral
    stopped (\"probably divergent\") on the MAP mixture fitted to MCMC draws; on the mixture fitted
    to exact quantile points it returns a value, wrong near a shape of 1 (pinned as a peer error).
    No peer fails now, and a failure that appears is a change to look at."""
    failed = [f["id"] for reference in REFERENCES.values() for f in reference.get("failures", []) if "id" in f]
    assert failed == []
    assert REFERENCES["clinfun"]["failures"] == []


def test_rbest_elir_error_is_shown_against_the_closed_form():
    """ELIR of one Beta(a, b) is a + b: nkreport gives it; RBesT 1.6 does far from a shape of 1 and
    overstates it just above 1 (the reason the MAP prior's ELIR differs)."""
    records = {r["id"]: r for r in REFERENCES["rbest"]["comparisons"] if r["id"].startswith("rbest.ess_elir_beta")}
    assert len(records) == 3
    for record in records.values():
        value, _ = peer_validation.nkreport_estimate(REFERENCES["rbest"], record)
        assert value == pytest.approx(record["a"] + record["b"], abs=1e-8)
    far = records["rbest.ess_elir_beta_3_7"]
    near = records["rbest.ess_elir_beta_1.06228_6.17694"]
    assert far["peer"] == pytest.approx(far["a"] + far["b"], abs=1e-8)
    assert near["peer"] > 2 * (near["a"] + near["b"])


def test_the_comparison_table_has_one_row_per_pin_with_a_verdict():
    table = peer_validation.comparison_table(REFERENCES)
    failures = sum(1 for r in REFERENCES.values() for f in r.get("failures", []) if "id" in f)
    assert len(table) == len(PINNED) + failures
    assert set(table.columns) >= {"quantity", "nkreport", "peer", "tool", "difference", "tolerance", "verdict"}
    assert set(table["verdict"]) <= {"agrees", "peer error, as documented", "peer failed, as documented"}


@pytest.mark.slow
def test_a_fresh_pymc_fit_of_the_comparative_model_agrees_with_stan():
    """The live comparison behind the pinned nkreport values of the Stan folder: the main
    setting refitted with PyMC (another seed) against the Stan pins, within 3 combined MCSE."""
    from nkreport.analysis import comparative

    evidence = comparative.build_evidence()
    settings = [comparative.Setting("with_trial")]
    fit = comparative.fit_settings(evidence, settings, seed=20261207, tune=1000)["with_trial"]
    summary = peer_validation.comparative_mcmc_summary(fit)
    for record in REFERENCES["stan"]["comparisons"]:
        name = record["id"].removeprefix("stan.")
        result = peer_validation.verdict(record, summary[name]["mean"], summary[name]["mcse"])
        assert result["agrees"], (name, summary[name], record["peer"], record["peer_mcse"])
