"""Chapters that declare the cohort rows they read (by role and outcome) are re-executed
exactly when those rows change: a copy of the book with the trial, the evidence, the secondary
outcomes and the data appendices gets cohorts of different roles and outcomes one after
another, and each incremental build equals a clean build of the same tree."""

from __future__ import annotations

import json

import pytest

from nkreport.build import fingerprints as hooks

from buildcopy import FIXTURE_CSV, FIXTURE_SIDECAR, TOC, TOC_DOCS, build, copy_repository, executed, results

pytestmark = pytest.mark.book

DOCS = [*TOC_DOCS, "book/04_secondary_safety"]
# TEST FIXTURE, not data: a hypothetical external rejection baseline, added to the copy only.
REJECTION_CSV = FIXTURE_CSV.replace("fixture_bsi,fixture,", "fixture_rejection,fixturer,").replace(
    ",bsi,10,100,30,", ",rejection,10,100,180,"
)
REJECTION_SIDECAR = {**FIXTURE_SIDECAR, "cohort_ids": ["fixture_rejection"]}


def _add(project, name, text, sidecar):
    cohorts = project / "data" / "cohorts"
    (cohorts / f"{name}.csv").write_text(text, encoding="utf-8")
    (cohorts / f"{name}.json").write_text(json.dumps(sidecar, indent=2), encoding="utf-8")


def test_cohorts_of_each_role_and_outcome_reexecute_exactly_their_readers(tmp_path):
    project = copy_repository(tmp_path / "repo")
    toc = TOC.replace(
        "      - file: book/02_evidence\n", "      - file: book/02_evidence\n      - file: book/04_secondary_safety\n"
    )
    (project / "toc.yml").write_text(toc, encoding="utf-8")
    # the pages that list every cohort (the provenance page hashes every data file)
    every_cohort = {"book/02_evidence", "book/appendix_adding_cohort", "book/appendix_data_dictionary", "book/status"}

    code, log = build(project)
    assert code == 0, log[-3000:]
    assert executed(project, log, DOCS) == every_cohort | {"book/01_trial", "book/04_secondary_safety"}

    # an external rejection baseline: the rejection readers and the pages listing every cohort
    _add(project, "fixture_rejection", REJECTION_CSV, REJECTION_SIDECAR)
    code, log = build(project)
    assert code == 0, log[-3000:]
    assert executed(project, log, DOCS) == every_cohort | {"book/04_secondary_safety"}
    assert results(project / "_build")["results"]["secondary_rejection_baselines"]["value"] >= 4

    # an external BSI baseline: neither the trial's chapter nor the secondary outcomes
    _add(project, "fixture_test", FIXTURE_CSV, FIXTURE_SIDECAR)
    code, log = build(project)
    assert code == 0, log[-3000:]
    assert executed(project, log, DOCS) == every_cohort

    # a field of one of the trial's rows: the chapters reading the trial's rows too
    trial = project / "data" / "cohorts" / "ohira2025_trial.csv"
    trial.write_text(trial.read_text(encoding="utf-8").replace("acute rejection; window", "acute rejection: window"))
    code, log = build(project)
    assert code == 0, log[-3000:]
    assert executed(project, log, DOCS) == every_cohort | {"book/01_trial", "book/04_secondary_safety"}
    recorded = json.loads((project / "_build" / hooks.INPUTS_FILE).read_text())
    assert "fixture_rejection" in recorded["cohort_rows"]

    # the incremental result equals a clean build of the same tree (one chapter at a time)
    clean = tmp_path / "clean"
    code, log = build(project, output=clean, workers=1)
    assert code == 0, log[-3000:]
    assert results(project / "_build") == results(clean / "_build")
    assert recorded == json.loads((clean / "_build" / hooks.INPUTS_FILE).read_text())
