"""Rules for single values: the checks of every field kind (pandera), missing-value markers,
template placeholders, length limits, ASCII digits, and identifiers of patients in free text."""

from __future__ import annotations

import math
import re

import pandas as pd
import pandera.pandas as pa

from .problems import Problem
from .schema import (
    ID_PATTERN,
    MAX_ID_LENGTH,
    MAX_N,
    MISSING_MARKERS,
    SOURCE_FORMS,
    SOURCE_PATTERN,
    TEMPLATE_MARK,
    TEXT_LENGTHS,
    ColumnSpec,
)

# --------------------------------------------------------------------------- field checks


TITLE_LENGTH = TEXT_LENGTHS["title"]
_ASCII_INTEGER = re.compile(r"[0-9]+")
_ASCII_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_ID = re.compile(ID_PATTERN)
_SOURCE = re.compile(SOURCE_PATTERN)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

#: Shapes of direct identifiers of a patient in free text: a birth date, a record number, a
#: calendar date in numbers, an e-mail address or a telephone number.
IDENTIFIER_TEXT_PATTERNS = (
    (re.compile(r"\b(born|d\.?o\.?b\.?|date of birth|birth ?date|birthday)\b", re.I), "mentions a birth date"),
    (
        re.compile(
            r"\b(mrn|medical record|record (no|number|#)|chart (no|number)|patient id|hospital (no|number))\b", re.I
        ),
        "mentions a record number",
    ),
    (re.compile(r"\b(19|20)\d\d[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])\b"), "holds a calendar date"),
    (re.compile(r"\b(0?[1-9]|[12]\d|3[01])[-/.](0?[1-9]|1[0-2])[-/.](19|20)?\d\d\b"), "holds a calendar date"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "holds an e-mail address"),
    (re.compile(r"(\+|\b)\d{2,4}[ -]\d{3,4}[ -]\d{3,4}\b"), "holds a telephone number"),
)


def identifier_in_text(value: str) -> str | None:
    """Why ``value`` looks like it names a patient (a birth date, a record number, ...), or None."""
    for pattern, reason in IDENTIFIER_TEXT_PATTERNS:
        if pattern.search(value):
            return reason
    return None


def is_missing_marker(value: str) -> bool:
    """True for a value that stands for "no value" (``n/a``, ``unknown``, ``-`` ...)."""
    return value.strip().lower() in MISSING_MARKERS


def is_placeholder(value: str) -> bool:
    """True for a template placeholder written by ``nkreport new`` (``FILL: ...``)."""
    return value.strip().upper().startswith(TEMPLATE_MARK)


def _has_foreign_digits(value: str) -> bool:
    return any(c.isdigit() or c.isnumeric() for c in value if not ("0" <= c <= "9"))


def _is_count(value: str) -> bool:
    return _ASCII_INTEGER.fullmatch(value) is not None and int(value) <= MAX_N


def _is_number(value: str) -> bool:
    return _ASCII_DECIMAL.fullmatch(value) is not None and 0 < float(value) <= MAX_N


def _is_percent(value: str) -> bool:
    return _ASCII_DECIMAL.fullmatch(value) is not None and 0 <= float(value) <= 100


def _is_text(spec: ColumnSpec):
    def test(value: str) -> bool:
        return (
            not is_missing_marker(value)
            and not is_placeholder(value)
            and len(value) <= spec.max_length
            and not CONTROL_CHARACTERS.search(value)
            and identifier_in_text(value) is None
        )

    return test


def _field_check(spec: ColumnSpec) -> tuple[pa.Check, str, str]:
    """A pandera element-wise check for one column spec, its message and its fix."""
    allow_empty = not spec.required

    def wrap(test):
        return lambda v: (allow_empty and v == "") or (v != "" and test(v))

    if spec.kind == "id":
        test, msg, fix = (
            lambda v: _ID.fullmatch(v) is not None and len(v) <= MAX_ID_LENGTH,
            "is not a valid identifier",
            f"use lower-case letters, digits and _ only, starting with a letter or digit, at most {MAX_ID_LENGTH} "
            f"characters",
        )
    elif spec.kind == "text":
        test, msg, fix = (
            _is_text(spec),
            "is not a usable text",
            f"give a value ({spec.description}), at most {spec.max_length} characters on one line",
        )
    elif spec.kind == "source":
        test, msg, fix = (
            lambda v: _SOURCE.fullmatch(v) is not None and len(v) <= spec.max_length,
            "is not a source the book can link",
            f"write the source as {SOURCE_FORMS}",
        )
    elif spec.kind == "count":
        test, msg, fix = (
            _is_count,
            "is not a whole number between 0 and 1,000,000",
            "write a count of patients with the digits 0-9, without decimals, signs or thousands separators",
        )
    elif spec.kind == "days":
        test, msg, fix = (
            lambda v: _is_count(v) and 1 <= int(v) <= 3650,
            "is not a number of days between 1 and 3650",
            "write the window in whole days with the digits 0-9 (30 for one month), or leave the field empty if the "
            "source does not state it",
        )
    elif spec.kind == "percent":
        test, msg, fix = (
            _is_percent,
            "is not a percentage between 0 and 100",
            "write the printed percentage with the digits 0-9 and a point, without the % sign, or leave it empty",
        )
    elif spec.kind == "number":
        test, msg, fix = (
            _is_number,
            "is not a positive number",
            "write a positive decimal number with the digits 0-9 and a point",
        )
    elif spec.kind == "choice":
        choices = spec.choices
        test, msg, fix = (lambda v: v in choices, "is not an allowed value", "use one of: " + ", ".join(choices))
    else:  # pragma: no cover - schema programming error
        raise ValueError(spec.kind)
    if spec.required:
        msg = msg + " (the field is required)"
    return pa.Check(wrap(test), element_wise=True, name=f"{spec.name}:{spec.kind}", error=msg), msg, fix


def _failure_message(spec: ColumnSpec, value: str, generic: str) -> str:
    """The reason a value failed its check, as specific as the value allows."""
    shown = value if len(value) <= 60 else value[:57] + "..."
    if value == "":
        return "is empty but required"
    if is_placeholder(value):
        return f"still holds the template placeholder {shown!r}"
    if is_missing_marker(value):
        return f"value {value!r} is a missing-value marker, not a value" + (
            "" if spec.required else " (leave the field empty instead)"
        )
    if CONTROL_CHARACTERS.search(value):
        return "holds a control character or line break"
    if spec.kind in ("text", "source", "id") and len(value) > (MAX_ID_LENGTH if spec.kind == "id" else spec.max_length):
        limit = MAX_ID_LENGTH if spec.kind == "id" else spec.max_length
        return f"is {len(value)} characters long, more than the {limit} allowed"
    if spec.kind == "text":
        reason = identifier_in_text(value)
        if reason:
            return f"{reason}, which could identify a patient; the data folder is published"
    if spec.kind in ("count", "days", "percent", "number") and _has_foreign_digits(value):
        return (
            f"value {shown!r} holds digits other than 0-9 (for example Arabic-Indic, full-width or superscript digits)"
        )
    if spec.kind in ("count", "days"):
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            return f"value {shown!r} is not a number ({generic})"
        if not math.isfinite(number):
            return f"value {shown!r} is not a finite number"
        if number < 0:
            return f"value {shown!r} is negative ({generic})"
        if number != int(number) or not _ASCII_INTEGER.fullmatch(value.replace(",", "")):
            return f"value {shown!r} is not a whole number ({generic})"
        if number > MAX_N:
            return f"value {shown!r} is implausibly large ({generic})"
    if spec.kind == "choice":
        return f"value {shown!r} is unknown; allowed values are " + ", ".join(spec.choices)
    return f"value {shown!r} {generic}"


def check_fields(frame: pd.DataFrame, specs: tuple[ColumnSpec, ...], name: str) -> list[Problem]:
    checks = {spec.name: _field_check(spec) for spec in specs}
    # no dtype check: read_text_table yields strings only, and pandera's element-wise check
    # that an object column holds str took most of the validation time
    schema = pa.DataFrameSchema(
        {spec.name: pa.Column(checks=[checks[spec.name][0]], nullable=False) for spec in specs},
        strict=True,
    )
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        problems = []
        for case in err.failure_cases.itertuples(index=False):
            column = case.column
            if column not in checks:
                problems.append(
                    Problem(name, None, column, f"failed the check {case.check}", "see the data dictionary")
                )
                continue
            _, msg, fix = checks[column]
            line = int(case.index) if case.index is not None and not pd.isna(case.index) else None
            spec = next(s for s in specs if s.name == column)
            problems.append(Problem(name, line, column, _failure_message(spec, str(case.failure_case), msg), fix))
        return sorted(problems, key=lambda p: (p.line or 0, p.field or ""))
    return []


def check_title(title, name: str) -> list[Problem]:
    """Problems of a sidecar's ``title``: one line of text, not a placeholder, not too long,
    naming no patient."""
    limit = TITLE_LENGTH
    if not isinstance(title, str) or not title.strip() or is_missing_marker(title):
        return [
            Problem(
                name, None, "title", "is empty or a missing-value marker", "say in one sentence what the file holds"
            )
        ]
    if is_placeholder(title):
        return [
            Problem(
                name, None, "title", "still holds the template placeholder", "say in one sentence what the file holds"
            )
        ]
    if len(title) > limit or CONTROL_CHARACTERS.search(title):
        return [
            Problem(
                name,
                None,
                "title",
                f"is longer than {limit} characters or spans lines",
                "say in one sentence what the file holds",
            )
        ]
    reason = identifier_in_text(title)
    if reason:
        return [
            Problem(
                name, None, "title", f"{reason}, which could identify a patient", "describe the cohort, never a patient"
            )
        ]
    return []
