"""Patient-level data (optional, per cohort): the file format, its checks and the SIMULATED example.

A cohort may come with individual records, one row per patient: an opaque ``patient_id``, the
day of the first bloodstream infection (``days_to_bsi``, empty if none), the day of death
(``death_day``, empty if alive) and the last day of follow-up (``end_of_followup``). Such a file
is read and checked here (pandera, plus the rules across fields); its analysis (time to BSI
with death as a competing risk) is :mod:`nkreport.analysis.competing_risks`.

The trial's own patient-level data are not public. The book ships one generated file,
``data/simulated/SIMULATED_ipd_example.csv`` (:func:`simulate_ipd`), to show the analysis; it
says so in its name, its sidecar, and every caption that shows it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import SEED, paths
from .fields import CONTROL_CHARACTERS, check_title
from .problems import DataValidationError, Problem, display_path
from .readers import read_sidecar, read_text_table
from .schema import (
    ID_PATTERN,
    IPD_COLUMNS,
    IPD_SIDECAR_KEYS,
    MAX_ID_LENGTH,
    PATIENT_ID_PATTERN,
    TEXT_LENGTHS,
)

SIMULATED_FILE = "SIMULATED_ipd_example.csv"

IPD_SCHEMA = pa.DataFrameSchema(
    {
        "patient_id": pa.Column(str, pa.Check.str_matches(rf"^{PATIENT_ID_PATTERN}$"), unique=True),
        "days_to_bsi": pa.Column("Int64", pa.Check.in_range(0, 3650), nullable=True),
        "death_day": pa.Column("Int64", pa.Check.in_range(0, 3650), nullable=True),
        "end_of_followup": pa.Column("Int64", pa.Check.in_range(0, 3650), nullable=False),
    },
    checks=[
        pa.Check(
            lambda df: df["days_to_bsi"].isna() | (df["days_to_bsi"] <= df["end_of_followup"]),
            name="bsi_within_followup",
            error="days_to_bsi is after end_of_followup",
        ),
        pa.Check(
            lambda df: df["death_day"].isna() | (df["death_day"] == df["end_of_followup"]),
            name="death_ends_followup",
            error="death_day differs from end_of_followup",
        ),
    ],
    strict=True,
    coerce=False,
)

#: Rules across fields: the field to name, the message and the fix.
_RULES = {
    "days_to_bsi is after end_of_followup": (
        "days_to_bsi",
        "is after end_of_followup",
        "a BSI is observed during follow-up: check both days",
    ),
    "death_day differs from end_of_followup": (
        "death_day",
        "differs from end_of_followup",
        "follow-up of a patient who died ends on the day of death: make the two equal",
    ),
}

_FIXES = {
    "patient_id": "use an opaque code (letters, digits, - and _, at most 16 characters), unique within the file",
    "days_to_bsi": "write the day of the first BSI as a whole number of days after transplantation, or leave it empty",
    "death_day": "write the day of death as a whole number of days after transplantation, or leave it empty",
    "end_of_followup": "write the last day of follow-up as a whole number of days after transplantation",
}


def _parse_day(value: str):
    value = value.strip()
    if value == "":
        return pd.NA
    if re.fullmatch(r"[0-9]{1,6}", value):
        return int(value)
    return value  # left as text: the schema reports it


#: Shapes of a patient code that could identify the patient: a date (of birth), a long number
#: (a record number), a word with no digit (a name) or a record-number prefix.
_ID_SHAPES = (
    (re.compile(r"(19|20)\d\d[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])"), "looks like a date (of birth?)"),
    (re.compile(r"(0[1-9]|[12]\d|3[01])[-_]?(0[1-9]|1[0-2])[-_]?(19|20)\d\d"), "looks like a date (of birth?)"),
    (re.compile(r"\d{6,}"), "holds a long number (a record number?)"),
    (re.compile(r"(?i)(mrn|rec|chart|hosp|nhs|ssn)"), "looks like a record number"),
    (re.compile(r"(?i)^[a-z][a-z_-]*[a-z]$"), "is a word without digits (a name?)"),
)


def patient_id_problem(value: str) -> str | None:
    """Why a patient code could identify the patient, or None for an opaque code like P001."""
    for pattern, reason in _ID_SHAPES:
        if pattern.search(value):
            return reason
    return None


def read_ipd(path: Path) -> pd.DataFrame:
    """Read and check a patient-level file; raises :class:`DataValidationError` on any problem."""
    path = Path(path)
    name = display_path(path)
    frame, problems = read_text_table(path, IPD_COLUMNS)
    if problems:
        raise DataValidationError(problems)
    for column in ("days_to_bsi", "death_day", "end_of_followup"):
        parsed = frame[column].map(_parse_day)
        bad = parsed.map(lambda v: isinstance(v, str))
        for line in frame.index[bad]:
            problems.append(
                Problem(
                    name,
                    int(line),
                    column,
                    f"value {frame.at[line, column]!r} is not a whole number of days",
                    _FIXES[column],
                )
            )
        frame[column] = parsed.where(~bad, pd.NA).astype("Int64")
    for line, code in frame["patient_id"].items():
        reason = patient_id_problem(code)
        if reason:
            problems.append(
                Problem(
                    name,
                    int(line),
                    "patient_id",
                    f"{code!r} {reason}; patient codes must not identify anyone",
                    "replace every code with an opaque one (P001, P002, ...), keeping the key to the codes outside "
                    "the project",
                )
            )
    if problems:
        raise DataValidationError(problems)
    try:
        IPD_SCHEMA.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        for case in err.failure_cases.itertuples(index=False):
            line = None if case.index is None or pd.isna(case.index) else int(case.index)
            if case.check in _RULES:
                column, message, fix = _RULES[case.check]
            elif case.check == "field_uniqueness":
                column, message, fix = (
                    "patient_id",
                    f"{case.failure_case!r} is used by more than one row",
                    _FIXES["patient_id"],
                )
            else:
                column = case.column if case.column in _FIXES else None
                message = f"value {case.failure_case!r} fails the check {case.check}"
                fix = _FIXES.get(column, "see the data dictionary")
            problems.append(Problem(name, line, column, message, fix))
        raise DataValidationError(sorted(set(problems), key=lambda p: (p.line or 0, p.field or ""))) from None
    return frame.reset_index(drop=True)


#: A SIMULATED example may stand alone (name no cohort) under a cohort_id with this prefix.
SIMULATED_COHORT_PREFIX = "simulated_"


def read_ipd_sidecar(path: Path, cohort_ids: set[str] | None = None) -> dict:
    """The sidecar of a patient-level file, checked: strict JSON, exactly the documented keys,
    ``simulated`` a boolean that agrees with the file name, ``columns`` equal to the file's
    header, and ``cohort_id`` naming a cohort row (``cohort_ids``; a SIMULATED file may instead
    use an id starting ``simulated_``)."""
    path = Path(path)
    side = path.with_suffix(".json")
    name = display_path(side)
    meta, problems = read_sidecar(path, IPD_SIDECAR_KEYS)
    if problems:
        raise DataValidationError(problems)
    problems = []
    named_simulated = path.name.upper().startswith("SIMULATED")
    if not isinstance(meta["simulated"], bool):
        problems.append(
            Problem(
                name,
                None,
                "simulated",
                f"is {meta['simulated']!r}, not true or false",
                "write true for simulated records, false for real ones",
            )
        )
    elif meta["simulated"] and not named_simulated:
        problems.append(
            Problem(
                name,
                None,
                "simulated",
                "is true but the file name does not start with SIMULATED",
                "name simulated files SIMULATED_*.csv",
            )
        )
    elif not meta["simulated"] and named_simulated:
        problems.append(
            Problem(
                name,
                None,
                "simulated",
                "is false but the file name says SIMULATED",
                "set simulated to true, or rename the file if the records are real",
            )
        )
    problems += check_title(meta["title"], name)
    if isinstance(meta["title"], str) and meta.get("simulated") is True and "SIMULATED" not in meta["title"]:
        problems.append(Problem(name, None, "title", "does not say SIMULATED", "start the title with 'SIMULATED'"))
    try:
        header = [h.strip() for h in next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))]
    except (OSError, UnicodeDecodeError, StopIteration, csv.Error):
        header = None  # read_ipd reports the table itself
    if header is not None and meta["columns"] != header:
        problems.append(
            Problem(
                name,
                None,
                "columns",
                f"disagrees with the header of {path.name}",
                "list the CSV header exactly, in order",
            )
        )
    cohort_id = meta["cohort_id"]
    if not isinstance(cohort_id, str) or not re.fullmatch(ID_PATTERN, cohort_id) or len(cohort_id) > MAX_ID_LENGTH:
        problems.append(
            Problem(
                name,
                None,
                "cohort_id",
                "is not a cohort identifier",
                "name the cohort_id of the row in data/cohorts these patients make up",
            )
        )
    elif (
        cohort_ids is not None
        and cohort_id not in cohort_ids
        and not (meta.get("simulated") is True and cohort_id.startswith(SIMULATED_COHORT_PREFIX))
    ):
        problems.append(
            Problem(
                name,
                None,
                "cohort_id",
                f"{cohort_id!r} names no cohort row in data/cohorts",
                "name an existing cohort_id (a SIMULATED example may use an id starting 'simulated_')",
            )
        )
    if (
        not isinstance(meta["generator"], str)
        or len(meta["generator"]) > TEXT_LENGTHS["generator"]
        or CONTROL_CHARACTERS.search(meta["generator"])
    ):
        problems.append(
            Problem(
                name,
                None,
                "generator",
                "must be one line of text",
                "give the command that regenerates the file, or an empty text",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return meta


def simulate_ipd(
    n: int = 60,
    seed: int = SEED,
    *,
    bsi_rate: float = 0.012,
    death_rate: float = 0.002,
    dropout_rate: float = 0.002,
    followup_days: int = 90,
) -> pd.DataFrame:
    """SIMULATED patient-level records (constant cause-specific hazards per day; not real data).

    Daily hazards: ``bsi_rate`` for a first BSI, ``death_rate`` for death, ``dropout_rate`` for
    loss to follow-up; administrative end of follow-up at ``followup_days``. A patient with a
    BSI stays at risk of death afterwards at the same rate.
    """
    rng = np.random.default_rng(seed)
    bsi = np.ceil(rng.exponential(1 / bsi_rate, n)).astype(int)
    death = np.ceil(rng.exponential(1 / death_rate, n)).astype(int)
    dropout = np.ceil(rng.exponential(1 / dropout_rate, n)).astype(int)
    end = np.minimum.reduce([death, dropout, np.full(n, followup_days)])
    frame = pd.DataFrame(
        {
            "patient_id": [f"SIM{i:03d}" for i in range(1, n + 1)],
            "days_to_bsi": pd.array(np.where(bsi <= end, bsi, -1), dtype="Int64"),
            "death_day": pd.array(np.where(death <= end, death, -1), dtype="Int64"),
            "end_of_followup": pd.array(end, dtype="Int64"),
        }
    )
    for column in ("days_to_bsi", "death_day"):
        frame[column] = frame[column].mask(frame[column] < 0)
    return frame


def write_simulated(out_dir: Path | None = None, n: int = 60, seed: int = SEED) -> Path:
    """Write the SIMULATED example file and its sidecar; returns the CSV path."""
    out_dir = Path(out_dir) if out_dir is not None else paths.data_dir() / "simulated"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SIMULATED_FILE
    frame = simulate_ipd(n=n, seed=seed)
    path.write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    meta = {
        "title": f"SIMULATED patient-level records ({n} patients, not real data) to demonstrate the "
        "cumulative-incidence analysis; the trial's patient-level data are not public.",
        "cohort_id": "simulated_example",
        "simulated": True,
        "columns": [s.name for s in IPD_COLUMNS],
        "generator": f"nkreport simulate-ipd --seed {seed} --n {n}",
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


def load_simulated(data_dir: Path | None = None) -> pd.DataFrame:
    """The shipped SIMULATED example (``data/simulated/SIMULATED_ipd_example.csv``), checked."""
    data_dir = Path(data_dir) if data_dir is not None else paths.data_dir()
    path = data_dir / "simulated" / SIMULATED_FILE
    read_ipd_sidecar(path)
    return read_ipd(path)
