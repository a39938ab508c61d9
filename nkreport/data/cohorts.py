"""Cohort files (``data/cohorts/*.csv`` with a JSON sidecar each) and the other tables of the
data folder (trial design, baseline, external odds ratios): read, checked, typed."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from .. import paths
from .fields import check_fields, check_title
from .problems import DataValidationError, Problem, display_path
from .readers import bibtex_keys, read_sidecar, read_text_table, stray_problem, visible_files
from .schema import (
    BASELINE_COLUMNS,
    COHORT_COLUMNS,
    DESIGN_COLUMNS,
    RISK_FACTOR_COLUMNS,
    SIDECAR_KEYS,
    ColumnSpec,
)

# --------------------------------------------------------------------------- cohort files


def _check_cohort_rows(frame: pd.DataFrame, name: str) -> list[Problem]:
    problems = []
    for line, row in frame.iterrows():
        events, n = int(row["events"]), int(row["n"])
        if n == 0:
            problems.append(
                Problem(
                    name,
                    line,
                    "n",
                    "is 0",
                    "a cohort needs at least one patient; remove the row if no patient was followed",
                )
            )
        elif events > n:
            problems.append(
                Problem(
                    name,
                    line,
                    "events",
                    f"{events} is greater than n = {n}",
                    "events counts patients with the outcome, so it cannot exceed n",
                )
            )
        if row["role"] in ("earlier_treated", "trial") and row["arm"] != "nk":
            problems.append(
                Problem(
                    name,
                    line,
                    "arm",
                    f"is {row['arm']!r} but role {row['role']!r} means NK-treated patients",
                    "use arm 'nk' or the role of an untreated arm",
                )
            )
        if row["role"] in ("earlier_untreated", "external_baseline") and row["arm"] != "control":
            problems.append(
                Problem(
                    name,
                    line,
                    "arm",
                    f"is {row['arm']!r} but role {row['role']!r} means untreated patients",
                    "use arm 'control' or a treated role",
                )
            )
    return problems


def _check_sidecar(csv_path: Path, frame: pd.DataFrame, header: list[str], bib_keys: set[str] | None) -> list[Problem]:
    side = csv_path.with_suffix(".json")
    name = display_path(side)
    meta, problems = read_sidecar(csv_path, SIDECAR_KEYS, "create it (`nkreport new` writes one)")
    if problems:
        return problems
    if meta["columns"] != header:
        problems.append(
            Problem(
                name,
                None,
                "columns",
                f"disagrees with the header of {csv_path.name}",
                "list the CSV header exactly, in order",
            )
        )
    ids = list(frame["cohort_id"]) if "cohort_id" in frame else []
    if meta["cohort_ids"] != ids:
        listed = (
            meta["cohort_ids"]
            if isinstance(meta["cohort_ids"], list) and len(str(meta["cohort_ids"])) < 300
            else "other ids"
        )
        problems.append(
            Problem(
                name,
                None,
                "cohort_ids",
                f"lists {listed} but {csv_path.name} has rows {ids}",
                "list the cohort_id of every row, in order",
            )
        )
    refs = meta["references"]
    if (
        not isinstance(refs, list)
        or not refs
        or not all(isinstance(r, str) and re.fullmatch(r"[A-Za-z0-9_:.+-]{1,64}", r) for r in refs)
    ):
        problems.append(
            Problem(
                name,
                None,
                "references",
                "must be a non-empty list of BibTeX keys",
                "add the sources to book/references.bib and list their keys",
            )
        )
    elif bib_keys is not None:
        for ref in refs:
            if ref not in bib_keys:
                problems.append(
                    Problem(
                        name,
                        None,
                        "references",
                        f"key {ref!r} is not in book/references.bib",
                        "add a BibTeX entry for the source",
                    )
                )
    problems += check_title(meta["title"], name)
    return problems


def read_cohort_file(path: Path, bib_keys: set[str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and check one cohort CSV and its sidecar; returns typed rows and problems."""
    name = display_path(path)
    frame, problems = read_text_table(path, COHORT_COLUMNS)
    if problems:
        return frame, problems
    problems = check_fields(frame, COHORT_COLUMNS, name)
    if problems:
        return frame, problems
    problems = _check_cohort_rows(frame, name)
    header = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    problems += _check_sidecar(path, frame, [h.strip() for h in header], bib_keys)
    frame = frame.assign(file=name, line=frame.index)
    return frame, problems


def _typed_cohorts(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["events"] = out["events"].astype(int)
    out["n"] = out["n"].astype(int)
    out["window_days"] = pd.to_numeric(out["window_days"].replace("", None)).astype("Int64")
    text = out["printed_percent"]
    out["printed_decimals"] = [len(t.split(".")[1]) if "." in t else (0 if t else pd.NA) for t in text]
    out["printed_decimals"] = out["printed_decimals"].astype("Int64")
    out["printed_percent"] = pd.to_numeric(text.replace("", None)).astype("Float64")
    return out.reset_index(drop=True)


def cohort_files(data_dir: Path | None = None) -> list[Path]:
    """The cohort tables of ``data_dir/cohorts``: visible ``*.csv`` files only (hidden and
    backup files are never analysed; validation refuses them)."""
    data_dir = data_dir or paths.data_dir()
    return visible_files(data_dir / "cohorts", ".csv")


def validate_cohorts(data_dir: Path | None = None, bib_path: Path | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cohort file in ``data_dir/cohorts``; return the pooled table and problems."""
    data_dir = data_dir or paths.data_dir()
    folder = data_dir / "cohorts"
    bib_keys = bibtex_keys(bib_path)
    frames, problems = [], []
    files = cohort_files(data_dir)
    if not files:
        problems.append(
            Problem(
                display_path(folder),
                None,
                None,
                "holds no cohort file (*.csv)",
                "restore the shipped files or add one with `nkreport new`",
            )
        )
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        entries = []
        problems.append(
            Problem(
                display_path(folder),
                None,
                None,
                f"cannot be read ({err.strerror or err})",
                "check the folder and its permissions",
            )
        )
    for stray in entries:
        hidden = stray_problem(stray)
        if hidden is not None:
            problems.append(hidden)
            continue
        if stray.name.startswith("."):
            continue
        if stray.suffix in (".csv", ".json") and stray.is_dir():
            problems.append(
                Problem(
                    display_path(stray),
                    None,
                    None,
                    "is a folder, not a data file",
                    "replace it with the file or remove it",
                )
            )
            continue
        if stray.suffix not in (".csv", ".json") and stray.is_file():
            problems.append(
                Problem(
                    display_path(stray),
                    None,
                    None,
                    "is neither a cohort table (.csv) nor a sidecar (.json)",
                    "save cohort tables as CSV, or move the file out of data/cohorts",
                )
            )
        if stray.suffix == ".json" and not stray.with_suffix(".csv").exists():
            problems.append(
                Problem(
                    display_path(stray),
                    None,
                    None,
                    "is a sidecar without its table",
                    f"add {stray.with_suffix('.csv').name} or remove the sidecar",
                )
            )
    for path in files:
        frame, file_problems = read_cohort_file(path, bib_keys)
        problems += file_problems
        if not file_problems:
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[s.name for s in COHORT_COLUMNS] + ["file", "line"]), problems
    table = pd.concat(frames)
    seen: dict[str, tuple[str, int]] = {}
    for row in table.itertuples():
        if row.cohort_id in seen:
            first_file, first_line = seen[row.cohort_id]
            problems.append(
                Problem(
                    row.file,
                    row.line,
                    "cohort_id",
                    f"{row.cohort_id!r} is already used in {first_file}, line {first_line}",
                    "give every row its own cohort_id",
                )
            )
        else:
            seen[row.cohort_id] = (row.file, row.line)
    problems += _check_across_files(table, folder)
    return _typed_cohorts(table), problems


def _check_across_files(table: pd.DataFrame, folder: Path) -> list[Problem]:
    """Rules across files: one trial row per outcome; a study's rows in one file; one row per
    study, arm, outcome and use (comparative studies pair arms by study_id)."""
    problems = []
    trial = table[table["role"] == "trial"]
    if not len(trial):
        problems.append(
            Problem(
                display_path(folder),
                None,
                "role",
                "no row has role 'trial'",
                "restore data/cohorts/ohira2025_trial.csv",
            )
        )
    for outcome, rows in trial.groupby("outcome", sort=False):
        if len(rows) > 1:
            listed = list(rows.itertuples())
            for position, row in enumerate(listed):
                others = "; ".join(f"{o.file}, line {o.line}" for i, o in enumerate(listed) if i != position)
                problems.append(
                    Problem(
                        row.file,
                        row.line,
                        "role",
                        f"is one of {len(rows)} 'trial' rows for outcome {outcome!r} (also: {others})",
                        "the trial has one row per outcome: give the new row the role of an earlier or external "
                        "cohort, or remove it",
                    )
                )
    files_of_study = table.groupby("study_id")["file"].unique()
    for study_id, files in files_of_study.items():
        if len(files) > 1:
            for file in files:
                row = table[(table["study_id"] == study_id) & (table["file"] == file)].iloc[0]
                others = ", ".join(f for f in files if f != file)
                problems.append(
                    Problem(
                        file,
                        int(row["line"]),
                        "study_id",
                        f"{study_id!r} is also used in {others}",
                        "keep all arms of a study in one file, or give a different study its own study_id",
                    )
                )
    seen: dict[tuple, tuple[str, int]] = {}
    for row in table.drop_duplicates("cohort_id").itertuples():  # a repeated cohort_id is reported as such
        key = (row.study_id, row.arm, row.outcome, row.use)
        if key in seen and seen[key][0] == row.file:
            problems.append(
                Problem(
                    row.file,
                    row.line,
                    "study_id",
                    f"study {row.study_id!r} already has a {row.arm} arm for {row.outcome!r} ({row.use}) on line "
                    f"{seen[key][1]}",
                    "a study has one row per arm and outcome: give a different cohort its own study_id",
                )
            )
        seen.setdefault(key, (row.file, row.line))
    return problems


def load_cohorts(
    data_dir: Path | None = None, *, use: str | None = "primary", bib_path: Path | None = None
) -> pd.DataFrame:
    """All cohort rows (one per arm and outcome) as a typed table; raises on any problem.

    ``use='primary'`` keeps the rows of the main analyses, ``None`` keeps all rows.
    ``bib_path`` names the BibTeX file the sidecars' references are checked against
    (default ``book/references.bib``).
    """
    table, problems = validate_cohorts(data_dir, bib_path)
    if problems:
        raise DataValidationError(problems)
    if use is not None:
        table = table[table["use"] == use]
    return table.reset_index(drop=True)


def _load_simple(path: Path, specs: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    name = display_path(path)
    frame, problems = read_text_table(path, specs)
    if not problems:
        problems = check_fields(frame, specs, name)
    if problems:
        raise DataValidationError(problems)
    return frame.assign(file=name, line=frame.index).reset_index(drop=True)


def load_trial_design(data_dir: Path | None = None) -> dict[str, str]:
    """The trial's design items (``data/trial/design.csv``) as a mapping item → value."""
    data_dir = data_dir or paths.data_dir()
    frame = _load_simple(data_dir / "trial" / "design.csv", DESIGN_COLUMNS)
    return dict(zip(frame["item"], frame["value"], strict=False))


def load_trial_design_table(data_dir: Path | None = None) -> pd.DataFrame:
    data_dir = data_dir or paths.data_dir()
    return _load_simple(data_dir / "trial" / "design.csv", DESIGN_COLUMNS)


def load_baseline(data_dir: Path | None = None) -> pd.DataFrame:
    """The trial's baseline characteristics (jRCT summary results)."""
    data_dir = data_dir or paths.data_dir()
    frame = _load_simple(data_dir / "trial" / "baseline.csv", BASELINE_COLUMNS)
    for column in ("count", "n"):
        frame[column] = pd.to_numeric(frame[column].replace("", None)).astype("Int64")
    for column in ("median", "range_low", "range_high"):
        frame[column] = pd.to_numeric(frame[column].replace("", None)).astype("Float64")
    return frame


def load_risk_factors(data_dir: Path | None = None) -> pd.DataFrame:
    """Published odds ratios of BSI risk factors (``data/external/bsi_risk_factors.csv``)."""
    data_dir = data_dir or paths.data_dir()
    frame = _load_simple(data_dir / "external" / "bsi_risk_factors.csv", RISK_FACTOR_COLUMNS)
    frame["odds_ratio"] = frame["odds_ratio"].astype(float)
    return frame
