"""Validation of a whole data folder: every problem of every file, with the rules across files;
the build and ``nkreport validate`` call it before anything is computed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import paths
from . import patient_level
from .cohorts import (
    bibtex_keys,
    load_baseline,
    load_risk_factors,
    load_trial_design_table,
    read_cohort_file,
    validate_cohorts,
)
from .problems import DataValidationError, Problem, display_path
from .readers import stray_problem, visible_files
from .schema import (
    IPD_COLUMNS,
    PATIENT_LEVEL_FOLDER,
)


def validate_all(data_dir: Path | None = None, bib_path: Path | None = None) -> list[Problem]:
    """Every problem in every data file, including the checks across files.

    Patient-level files (``data_dir/simulated/*.csv``) are checked as such, never read as cohorts.
    """
    data_dir = data_dir or paths.data_dir()
    cohorts, problems = validate_cohorts(data_dir, bib_path)
    problems += validate_patient_level(data_dir, set(cohorts["cohort_id"]) if len(cohorts) else set())
    design = baseline = None
    for loader in (load_trial_design_table, load_baseline, load_risk_factors):
        try:
            result = loader(data_dir)
        except DataValidationError as err:
            problems += err.problems
            continue
        if loader is load_trial_design_table:
            design = result
        elif loader is load_baseline:
            baseline = result
    if design is not None:
        items = dict(zip(design["item"], design["value"], strict=False))
        design_name = design["file"].iloc[0]
        for required in ("planned_n", "infused_n", "primary_window"):
            if required not in items:
                problems.append(Problem(design_name, None, "item", f"item {required!r} is missing", "add a row for it"))
            elif not items[required].isdigit():
                line = int(design.loc[design["item"] == required, "line"].iloc[0])
                problems.append(
                    Problem(
                        design_name,
                        line,
                        "value",
                        f"{required} = {items[required]!r} is not a whole number",
                        "write a whole number",
                    )
                )
        if not problems and len(cohorts):
            infused = int(items["infused_n"])
            trial = cohorts[cohorts["role"] == "trial"]
            for row in trial.itertuples():
                if row.n != infused:
                    problems.append(
                        Problem(
                            row.file,
                            int(row.line),
                            "n",
                            f"trial row has n = {row.n} but {design_name} gives infused_n = {infused}",
                            "make the two agree",
                        )
                    )
            if infused > int(items["planned_n"]):
                problems.append(Problem(design_name, None, "value", "infused_n exceeds planned_n", "check both values"))
    if (
        baseline is not None
        and design is not None
        and "infused_n" in dict(zip(design["item"], design["value"], strict=False))
    ):
        infused = dict(zip(design["item"], design["value"], strict=False))["infused_n"]
        for row in baseline.itertuples():
            if str(row.n) != infused:
                problems.append(
                    Problem(
                        row.file,
                        int(row.line),
                        "n",
                        f"is {row.n} but the trial infused {infused}",
                        "baseline rows describe the infused patients",
                    )
                )
            if row.count is not pd.NA and row.count > row.n:
                problems.append(
                    Problem(
                        row.file,
                        int(row.line),
                        "count",
                        f"{row.count} exceeds n = {row.n}",
                        "a category cannot hold more patients than n",
                    )
                )
    return problems


def validate_patient_level(data_dir: Path | None = None, cohort_ids: set[str] | None = None) -> list[Problem]:
    """Every problem in the patient-level files (``data_dir/simulated/*.csv`` and their
    sidecars); ``cohort_ids``: the cohort rows a sidecar's ``cohort_id`` may name."""
    data_dir = data_dir or paths.data_dir()
    folder = data_dir / PATIENT_LEVEL_FOLDER
    problems = []
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            stray = stray_problem(entry)
            if stray is not None:
                problems.append(stray)
    for path in visible_files(folder, ".csv"):
        try:
            patient_level.read_ipd_sidecar(path, cohort_ids)
            patient_level.read_ipd(path)
        except DataValidationError as err:
            problems += err.problems
    return problems


def check_data(data_dir: Path | None = None) -> None:
    """Raise :class:`DataValidationError` if any data file is invalid."""
    problems = validate_all(data_dir)
    if problems:
        raise DataValidationError(problems)


def is_patient_level_file(path: Path) -> bool:
    """Whether a CSV file is patient-level: it lives in the ``simulated`` folder, or its header
    starts with ``patient_id`` (decided by content and place, never by words in its name)."""
    if path.parent.name == PATIENT_LEVEL_FOLDER:
        return True
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            first = handle.readline(4096)
    except OSError:
        return False
    return first.split(",", 1)[0].strip().lstrip("\ufeff") == IPD_COLUMNS[0].name


def validate_path(path: Path, bib_path: Path | None = None) -> list[Problem]:
    """Every problem in a data folder (with ``cohorts/``, ``trial/``, ``external/``), in a
    ``cohorts`` folder, or in one file (a cohort CSV with its sidecar, or a patient-level CSV)."""
    path = Path(path)
    if path.is_dir():
        if (path / "cohorts").is_dir():
            return validate_all(path, bib_path)
        if path.name == "cohorts":
            return validate_cohorts(path.parent, bib_path)[1]
        return [
            Problem(
                display_path(path),
                None,
                None,
                "is neither a data folder (with cohorts/) nor a cohorts folder",
                "name the data folder, its cohorts folder or one file",
            )
        ]
    if not path.exists():
        return [Problem(display_path(path), None, None, "does not exist", "check the path")]
    if path.suffix == ".json" and path.with_suffix(".csv").exists():
        path = path.with_suffix(".csv")
    if path.suffix != ".csv":
        return [Problem(display_path(path), None, None, "is not a CSV data file", "name a .csv file or a folder")]
    if is_patient_level_file(path):
        data_dir = path.parent.parent
        cohort_ids = None
        if (data_dir / "cohorts").is_dir():
            cohorts, _ = validate_cohorts(data_dir, bib_path)
            cohort_ids = set(cohorts["cohort_id"]) if len(cohorts) else set()
        try:
            patient_level.read_ipd_sidecar(path, cohort_ids)
            patient_level.read_ipd(path)
        except DataValidationError as err:
            return err.problems
        return []
    bib_keys = bibtex_keys(bib_path)
    return read_cohort_file(path, bib_keys)[1]
