"""Loading and validating the book's data files.

Every file is read as text first and checked before anything is computed from it: encoding,
delimiter, header, then each field against :mod:`nkreport.schema` (with pandera), then rules
across rows and across files. Every problem is reported as one line naming the file, the line
of the file, the field and how to fix it; :class:`DataValidationError` carries all of them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from . import paths
from .schema import TEXT_LENGTHS
from .schema import (
    BASELINE_COLUMNS,
    COHORT_COLUMNS,
    DESIGN_COLUMNS,
    ID_PATTERN,
    IDENTIFIER_COLUMN_PATTERN,
    MAX_ID_LENGTH,
    MAX_N,
    MISSING_MARKERS,
    RISK_FACTOR_COLUMNS,
    SIDECAR_KEYS,
    SOURCE_FORMS,
    SOURCE_PATTERN,
    TEMPLATE_MARK,
    ColumnSpec,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of one file."""

    file: str
    line: int | None  # line of the file, 1 = header; None = the whole file
    field: str | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}. Fix: {self.fix}"


class DataValidationError(ValueError):
    """Raised when a data file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(
            f"{len(lines)} problem(s) in the data:\n" + "\n".join("  " + line for line in lines)
        )


# --------------------------------------------------------------------------- raw reading


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(paths.project_root().resolve()))
    except (ValueError, OSError, RuntimeError):  # outside the project, or a symbolic-link loop
        return str(path)


def read_text_table(path: Path, specs: tuple[ColumnSpec, ...]) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CSV file as strings and check its encoding, delimiter, header and row shape.

    Returns the table (all fields as ``str``; index = line number in the file) and the problems.
    """
    name = _display(path)
    problems: list[Problem] = []
    if path.is_dir():
        return pd.DataFrame(), [Problem(name, None, None, "is a folder, not a data file", "replace the folder with the CSV file or remove it")]
    if path.exists() and not path.is_file():
        return pd.DataFrame(), [Problem(name, None, None, "is not a regular file (a pipe, socket or device)", "replace it with the CSV file")]
    try:
        raw = path.read_bytes()
    except OSError as err:
        return pd.DataFrame(), [Problem(name, None, None, f"cannot be read ({err.strerror})", "check the path and its permissions")]
    if not raw.strip():
        return pd.DataFrame(), [Problem(name, None, None, "is empty", "write a header line and at least one row (`nkreport new` makes a template)")]
    if raw.startswith(b"\xef\xbb\xbf"):
        return pd.DataFrame(), [Problem(name, 1, None, "starts with a byte-order mark (BOM)", "save the file as UTF-8 without BOM")]
    if b"\x00" in raw[:8192]:
        return pd.DataFrame(), [Problem(name, None, None, "is not a text file (it contains NUL bytes)", "save the table as CSV text (UTF-8)")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return pd.DataFrame(), [Problem(name, line, None, f"is not valid UTF-8 (byte 0x{raw[err.start]:02x})", "save the file with UTF-8 encoding")]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return pd.DataFrame(), [Problem(name, line, None, "is not a text file (it contains NUL bytes)", "save the table as CSV text (UTF-8)")]
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        return pd.DataFrame(), [Problem(name, None, None, f"cannot be parsed as CSV ({err})", "save the table as comma-separated text with quoted fields")]
    if not rows or not any(cell.strip() for cell in rows[0]):
        return pd.DataFrame(), [Problem(name, 1, None, "does not start with a header line", "put the column names on the first line (`nkreport new` makes a template)")]
    header = [h.strip() for h in rows[0]]
    expected = [s.name for s in specs]
    if len(header) == 1 and any(d in rows[0][0] for d in ";\t|"):
        delimiter = next(d for d in ";\t|" if d in rows[0][0])
        return pd.DataFrame(), [Problem(name, 1, None, f"uses {delimiter!r} as delimiter", "separate fields with commas")]
    privacy = [h for h in header if re.search(IDENTIFIER_COLUMN_PATTERN, h.lower())]
    if privacy:
        return pd.DataFrame(), [
            Problem(name, 1, h, "looks like a direct patient identifier and is refused: the data folder is published with the book, and names, birth dates, record numbers or addresses identify patients", "remove the column; cohort files hold aggregate counts only (patient-level files hold an opaque patient_id and days, see the data dictionary)")
            for h in privacy
        ]
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    for column in missing:
        spec = next(s for s in specs if s.name == column)
        problems.append(Problem(name, 1, column, "column is missing from the header", f"add the column ({spec.description})"))
    for column in extra:
        problems.append(Problem(name, 1, column, "is not a known column", "remove it or rename it to one of: " + ", ".join(expected)))
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        problems.append(Problem(name, 1, dup[0], "column appears more than once", "keep one copy"))
    body = rows[1:]
    if not any(any(cell.strip() for cell in row) for row in body):
        problems.append(Problem(name, None, None, "has a header but no rows", "add at least one row, or remove the file"))
    for number, row in enumerate(body, start=2):
        if len(row) != len(header) and any(cell.strip() for cell in row):
            problems.append(Problem(name, number, None, f"has {len(row)} fields but the header has {len(header)}", "quote fields that contain commas and give every column a value (empty is allowed)"))
    if problems:
        return pd.DataFrame(), problems
    kept = [(number, row) for number, row in enumerate(body, start=2) if any(cell.strip() for cell in row)]
    frame = pd.DataFrame([row for _, row in kept], columns=header, index=[n for n, _ in kept], dtype=str)
    frame = frame.apply(lambda col: col.str.strip())
    return frame[expected], problems


# --------------------------------------------------------------------------- field checks


TITLE_LENGTH = TEXT_LENGTHS["title"]
_ASCII_INTEGER = re.compile(r"[0-9]+")
_ASCII_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_ID = re.compile(ID_PATTERN)
_SOURCE = re.compile(SOURCE_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

#: Shapes of direct identifiers of a patient in free text: a birth date, a record number, a
#: calendar date in numbers, an e-mail address or a telephone number.
IDENTIFIER_TEXT_PATTERNS = (
    (re.compile(r"\b(born|d\.?o\.?b\.?|date of birth|birth ?date|birthday)\b", re.I), "mentions a birth date"),
    (re.compile(r"\b(mrn|medical record|record (no|number|#)|chart (no|number)|patient id|hospital (no|number))\b", re.I),
     "mentions a record number"),
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
        return (not is_missing_marker(value) and not is_placeholder(value) and len(value) <= spec.max_length
                and not _CONTROL.search(value) and identifier_in_text(value) is None)
    return test


def _field_check(spec: ColumnSpec) -> tuple[pa.Check, str, str]:
    """A pandera element-wise check for one column spec, its message and its fix."""
    allow_empty = not spec.required

    def wrap(test):
        return lambda v: (allow_empty and v == "") or (v != "" and test(v))

    if spec.kind == "id":
        test, msg, fix = (lambda v: _ID.fullmatch(v) is not None and len(v) <= MAX_ID_LENGTH,
                          "is not a valid identifier",
                          f"use lower-case letters, digits and _ only, starting with a letter or digit, at most {MAX_ID_LENGTH} characters")
    elif spec.kind == "text":
        test, msg, fix = (_is_text(spec), "is not a usable text",
                          f"give a value ({spec.description}), at most {spec.max_length} characters on one line")
    elif spec.kind == "source":
        test, msg, fix = (lambda v: _SOURCE.fullmatch(v) is not None and len(v) <= spec.max_length,
                          "is not a source the book can link", f"write the source as {SOURCE_FORMS}")
    elif spec.kind == "count":
        test, msg, fix = (_is_count, "is not a whole number between 0 and 1,000,000",
                          "write a count of patients with the digits 0-9, without decimals, signs or thousands separators")
    elif spec.kind == "days":
        test, msg, fix = (lambda v: _is_count(v) and 1 <= int(v) <= 3650, "is not a number of days between 1 and 3650",
                          "write the window in whole days with the digits 0-9 (30 for one month), or leave the field empty if the source does not state it")
    elif spec.kind == "percent":
        test, msg, fix = (_is_percent, "is not a percentage between 0 and 100",
                          "write the printed percentage with the digits 0-9 and a point, without the % sign, or leave it empty")
    elif spec.kind == "number":
        test, msg, fix = (_is_number, "is not a positive number", "write a positive decimal number with the digits 0-9 and a point")
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
            "" if spec.required else " (leave the field empty instead)")
    if _CONTROL.search(value):
        return "holds a control character or line break"
    if spec.kind in ("text", "source", "id") and len(value) > (MAX_ID_LENGTH if spec.kind == "id" else spec.max_length):
        limit = MAX_ID_LENGTH if spec.kind == "id" else spec.max_length
        return f"is {len(value)} characters long, more than the {limit} allowed"
    if spec.kind == "text":
        reason = identifier_in_text(value)
        if reason:
            return f"{reason}, which could identify a patient; the data folder is published"
    if spec.kind in ("count", "days", "percent", "number") and _has_foreign_digits(value):
        return f"value {shown!r} holds digits other than 0-9 (for example Arabic-Indic, full-width or superscript digits)"
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


def _check_fields(frame: pd.DataFrame, specs: tuple[ColumnSpec, ...], name: str) -> list[Problem]:
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
                problems.append(Problem(name, None, column, f"failed the check {case.check}", "see the data dictionary"))
                continue
            _, msg, fix = checks[column]
            line = int(case.index) if case.index is not None and not pd.isna(case.index) else None
            spec = next(s for s in specs if s.name == column)
            problems.append(Problem(name, line, column, _failure_message(spec, str(case.failure_case), msg), fix))
        return sorted(problems, key=lambda p: (p.line or 0, p.field or ""))
    return []


# --------------------------------------------------------------------------- JSON sidecars

#: Largest sidecar (bytes) and deepest nesting of a sidecar's values.
MAX_SIDECAR_BYTES = 1_000_000
MAX_JSON_DEPTH = 8


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _json_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (no recursion, any input)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def read_json_strict(path: Path) -> tuple[object, list[Problem]]:
    """Read a sidecar as strict JSON: UTF-8, at most :data:`MAX_SIDECAR_BYTES`, nested at most
    :data:`MAX_JSON_DEPTH` deep, no duplicate keys, no NaN or Infinity."""
    name = _display(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        return None, [Problem(name, None, None, "is not a regular file (a pipe, socket or device)", "replace it with the sidecar file")]
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        return None, [Problem(name, None, None, "is a folder, not a JSON file", "replace the folder with the sidecar file")]
    except OSError as err:
        return None, [Problem(name, None, None, f"cannot be read ({err.strerror or err})", "check the path, its permissions and any symbolic link")]
    if len(raw) > MAX_SIDECAR_BYTES:
        return None, [Problem(name, None, None, f"is {len(raw):,} bytes, more than a sidecar needs ({MAX_SIDECAR_BYTES:,})", "keep the sidecar to its documented keys")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return None, [Problem(name, line, None, "is not valid UTF-8", "save the file with UTF-8 encoding")]
    if text.startswith("\ufeff"):
        return None, [Problem(name, 1, None, "starts with a byte-order mark (BOM)", "save the file as UTF-8 without BOM")]
    if _json_depth(text) > MAX_JSON_DEPTH:
        return None, [Problem(name, None, None, f"is nested more than {MAX_JSON_DEPTH} levels deep", "write an object whose values are texts, booleans or lists of texts")]
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant), []
    except _DuplicateKey as err:
        key = str(err)
        line = next((i for i, row in enumerate(text.splitlines(), start=1) if f'"{key}"' in row), None)
        lines = [i for i, row in enumerate(text.splitlines(), start=1) if f'"{key}"' in row]
        line = lines[1] if len(lines) > 1 else line
        return None, [Problem(name, line, key, "key appears more than once (JSON readers keep only one of them)", "keep one copy of the key")]
    except json.JSONDecodeError as err:
        return None, [Problem(name, err.lineno, None, f"is not valid JSON ({err.msg})", "fix the JSON syntax")]
    except (ValueError, RecursionError) as err:
        return None, [Problem(name, None, None, f"is not valid JSON ({err})", "fix the JSON syntax")]


# --------------------------------------------------------------------------- files a folder holds

#: Names an editor or a copy leaves behind; such files are refused, never analysed.
_BACKUP = re.compile(r"(~|\.bak|\.orig|\.old|\.swp|\.swo|\.tmp|\.rej)$|^#.*#$|^\.#", re.I)


def stray_problem(path: Path) -> Problem | None:
    """A problem for a hidden or backup data file (it would enter the analyses unseen), or None
    for files that are not data (``.gitkeep``, ``.DS_Store``)."""
    name = path.name
    looks_like_data = ".csv" in name.lower() or ".json" in name.lower()
    if name.startswith(".") and looks_like_data:
        return Problem(_display(path), None, None, "is a hidden data file: `ls` does not show it, so it would enter the book unseen",
                       "rename it without the leading '.' if it belongs to the book, or move it out of the data folder")
    if _BACKUP.search(name) and (looks_like_data or name.startswith("#")):
        return Problem(_display(path), None, None, "looks like an editor's backup or temporary copy",
                       "remove it, or rename it to <study>.csv if it is the file to use")
    return None


def _visible_files(folder: Path, suffix: str) -> list[Path]:
    """The files of ``folder`` with ``suffix`` that are neither hidden nor backups, sorted."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.suffix == suffix and not p.name.startswith(".") and stray_problem(p) is None]


# --------------------------------------------------------------------------- cohort files


def _check_cohort_rows(frame: pd.DataFrame, name: str) -> list[Problem]:
    problems = []
    for line, row in frame.iterrows():
        events, n = int(row["events"]), int(row["n"])
        if n == 0:
            problems.append(Problem(name, line, "n", "is 0", "a cohort needs at least one patient; remove the row if no patient was followed"))
        elif events > n:
            problems.append(Problem(name, line, "events", f"{events} is greater than n = {n}", "events counts patients with the outcome, so it cannot exceed n"))
        if row["role"] in ("earlier_treated", "trial") and row["arm"] != "nk":
            problems.append(Problem(name, line, "arm", f"is {row['arm']!r} but role {row['role']!r} means NK-treated patients", "use arm 'nk' or the role of an untreated arm"))
        if row["role"] in ("earlier_untreated", "external_baseline") and row["arm"] != "control":
            problems.append(Problem(name, line, "arm", f"is {row['arm']!r} but role {row['role']!r} means untreated patients", "use arm 'control' or a treated role"))
    return problems


def _check_sidecar(csv_path: Path, frame: pd.DataFrame, header: list[str], bib_keys: set[str] | None) -> list[Problem]:
    side = csv_path.with_suffix(".json")
    name = _display(side)
    if not side.exists() and not side.is_symlink():
        return [Problem(_display(csv_path), None, None, f"has no sidecar {side.name}", "create it (`nkreport new` writes one) with keys: " + ", ".join(SIDECAR_KEYS))]
    meta, problems = read_json_strict(side)
    if problems:
        return problems
    if not isinstance(meta, dict):
        return [Problem(name, None, None, "is not a JSON object", "write an object with keys: " + ", ".join(SIDECAR_KEYS))]
    problems = []
    for key in SIDECAR_KEYS:
        if key not in meta:
            problems.append(Problem(name, None, key, "key is missing", SIDECAR_KEYS[key]))
    for key in meta:
        if key not in SIDECAR_KEYS:
            problems.append(Problem(name, None, key, "is not a known sidecar key", "use only: " + ", ".join(SIDECAR_KEYS)))
    if problems:
        return problems
    if meta["columns"] != header:
        problems.append(Problem(name, None, "columns", f"disagrees with the header of {csv_path.name}", "list the CSV header exactly, in order"))
    ids = list(frame["cohort_id"]) if "cohort_id" in frame else []
    if meta["cohort_ids"] != ids:
        listed = meta["cohort_ids"] if isinstance(meta["cohort_ids"], list) and len(str(meta["cohort_ids"])) < 300 else "other ids"
        problems.append(Problem(name, None, "cohort_ids", f"lists {listed} but {csv_path.name} has rows {ids}", "list the cohort_id of every row, in order"))
    refs = meta["references"]
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and re.fullmatch(r"[A-Za-z0-9_:.+-]{1,64}", r) for r in refs):
        problems.append(Problem(name, None, "references", "must be a non-empty list of BibTeX keys", "add the sources to book/references.bib and list their keys"))
    elif bib_keys is not None:
        for ref in refs:
            if ref not in bib_keys:
                problems.append(Problem(name, None, "references", f"key {ref!r} is not in book/references.bib", "add a BibTeX entry for the source"))
    problems += check_title(meta["title"], name)
    return problems


def check_title(title, name: str) -> list[Problem]:
    """Problems of a sidecar's ``title``: one line of text, not a placeholder, not too long,
    naming no patient."""
    limit = TITLE_LENGTH
    if not isinstance(title, str) or not title.strip() or is_missing_marker(title):
        return [Problem(name, None, "title", "is empty or a missing-value marker", "say in one sentence what the file holds")]
    if is_placeholder(title):
        return [Problem(name, None, "title", "still holds the template placeholder", "say in one sentence what the file holds")]
    if len(title) > limit or _CONTROL.search(title):
        return [Problem(name, None, "title", f"is longer than {limit} characters or spans lines", "say in one sentence what the file holds")]
    reason = identifier_in_text(title)
    if reason:
        return [Problem(name, None, "title", f"{reason}, which could identify a patient", "describe the cohort, never a patient")]
    return []


_BIB_ENTRY = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")


def _skip_balanced(text: str, start: int, opening: str) -> int:
    """The index after the bracket that closes the one at ``start``."""
    closing = "}" if opening == "{" else ")"
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


def parse_bibtex_keys(text: str) -> set[str]:
    """The keys of the entries of a BibTeX text: ``@comment``, ``@string`` and ``@preamble``
    blocks and everything inside an entry's braces are skipped, so a key that appears only in a
    comment or in another entry's field is not an entry."""
    keys: set[str] = set()
    position = 0
    while True:
        match = _BIB_ENTRY.search(text, position)
        if not match:
            return keys
        kind, opening = match.group(1).lower(), match.group(2)
        end = _skip_balanced(text, match.start(2), opening)
        if kind not in ("comment", "string", "preamble"):
            head = re.match(r"\s*([^,\s{}()]+)\s*,", text[match.end(2):end])
            if head:
                keys.add(head.group(1))
        position = end


def bibtex_keys(bib_path: Path | None = None) -> set[str] | None:
    """The entry keys of the book's BibTeX file, or None if there is none."""
    bib_path = bib_path or paths.project_root() / "book" / "references.bib"
    if not bib_path.is_file():
        return None
    return parse_bibtex_keys(bib_path.read_text(encoding="utf-8", errors="replace"))


def read_cohort_file(path: Path, bib_keys: set[str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and check one cohort CSV and its sidecar; returns typed rows and problems."""
    name = _display(path)
    frame, problems = read_text_table(path, COHORT_COLUMNS)
    if problems:
        return frame, problems
    problems = _check_fields(frame, COHORT_COLUMNS, name)
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
    return _visible_files(data_dir / "cohorts", ".csv")


def validate_cohorts(data_dir: Path | None = None, bib_path: Path | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cohort file in ``data_dir/cohorts``; return the pooled table and problems."""
    data_dir = data_dir or paths.data_dir()
    folder = data_dir / "cohorts"
    bib_keys = bibtex_keys(bib_path)
    frames, problems = [], []
    files = cohort_files(data_dir)
    if not files:
        problems.append(Problem(_display(folder), None, None, "holds no cohort file (*.csv)", "restore the shipped files or add one with `nkreport new`"))
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        entries = []
        problems.append(Problem(_display(folder), None, None, f"cannot be read ({err.strerror or err})", "check the folder and its permissions"))
    for stray in entries:
        hidden = stray_problem(stray)
        if hidden is not None:
            problems.append(hidden)
            continue
        if stray.name.startswith("."):
            continue
        if stray.suffix in (".csv", ".json") and stray.is_dir():
            problems.append(Problem(_display(stray), None, None, "is a folder, not a data file", "replace it with the file or remove it"))
            continue
        if stray.suffix not in (".csv", ".json") and stray.is_file():
            problems.append(Problem(_display(stray), None, None, "is neither a cohort table (.csv) nor a sidecar (.json)", "save cohort tables as CSV, or move the file out of data/cohorts"))
        if stray.suffix == ".json" and not stray.with_suffix(".csv").exists():
            problems.append(Problem(_display(stray), None, None, "is a sidecar without its table", f"add {stray.with_suffix('.csv').name} or remove the sidecar"))
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
            problems.append(Problem(row.file, row.line, "cohort_id", f"{row.cohort_id!r} is already used in {first_file}, line {first_line}", "give every row its own cohort_id"))
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
        problems.append(Problem(_display(folder), None, "role", "no row has role 'trial'", "restore data/cohorts/ohira2025_trial.csv"))
    for outcome, rows in trial.groupby("outcome", sort=False):
        if len(rows) > 1:
            listed = list(rows.itertuples())
            for position, row in enumerate(listed):
                others = "; ".join(f"{o.file}, line {o.line}" for i, o in enumerate(listed) if i != position)
                problems.append(Problem(row.file, row.line, "role", f"is one of {len(rows)} 'trial' rows for outcome {outcome!r} (also: {others})",
                                        "the trial has one row per outcome: give the new row the role of an earlier or external cohort, or remove it"))
    files_of_study = table.groupby("study_id")["file"].unique()
    for study_id, files in files_of_study.items():
        if len(files) > 1:
            for file in files:
                row = table[(table["study_id"] == study_id) & (table["file"] == file)].iloc[0]
                others = ", ".join(f for f in files if f != file)
                problems.append(Problem(file, int(row["line"]), "study_id", f"{study_id!r} is also used in {others}",
                                        "keep all arms of a study in one file, or give a different study its own study_id"))
    seen: dict[tuple, tuple[str, int]] = {}
    for row in table.drop_duplicates("cohort_id").itertuples():  # a repeated cohort_id is reported as such
        key = (row.study_id, row.arm, row.outcome, row.use)
        if key in seen and seen[key][0] == row.file:
            problems.append(Problem(row.file, row.line, "study_id", f"study {row.study_id!r} already has a {row.arm} arm for {row.outcome!r} ({row.use}) on line {seen[key][1]}",
                                    "a study has one row per arm and outcome: give a different cohort its own study_id"))
        seen.setdefault(key, (row.file, row.line))
    return problems


def load_cohorts(data_dir: Path | None = None, *, use: str | None = "primary", bib_path: Path | None = None) -> pd.DataFrame:
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
    name = _display(path)
    frame, problems = read_text_table(path, specs)
    if not problems:
        problems = _check_fields(frame, specs, name)
    if problems:
        raise DataValidationError(problems)
    return frame.assign(file=name, line=frame.index).reset_index(drop=True)


def load_trial_design(data_dir: Path | None = None) -> dict[str, str]:
    """The trial's design items (``data/trial/design.csv``) as a mapping item → value."""
    data_dir = data_dir or paths.data_dir()
    frame = _load_simple(data_dir / "trial" / "design.csv", DESIGN_COLUMNS)
    return dict(zip(frame["item"], frame["value"]))


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
        items = dict(zip(design["item"], design["value"]))
        design_name = design["file"].iloc[0]
        for required in ("planned_n", "infused_n", "primary_window"):
            if required not in items:
                problems.append(Problem(design_name, None, "item", f"item {required!r} is missing", "add a row for it"))
            elif not items[required].isdigit():
                line = int(design.loc[design["item"] == required, "line"].iloc[0])
                problems.append(Problem(design_name, line, "value", f"{required} = {items[required]!r} is not a whole number", "write a whole number"))
        if not problems and len(cohorts):
            infused = int(items["infused_n"])
            trial = cohorts[cohorts["role"] == "trial"]
            for row in trial.itertuples():
                if row.n != infused:
                    problems.append(Problem(row.file, int(row.line), "n", f"trial row has n = {row.n} but {design_name} gives infused_n = {infused}", "make the two agree"))
            if infused > int(items["planned_n"]):
                problems.append(Problem(design_name, None, "value", "infused_n exceeds planned_n", "check both values"))
    if baseline is not None and design is not None and "infused_n" in dict(zip(design["item"], design["value"])):
        infused = dict(zip(design["item"], design["value"]))["infused_n"]
        for row in baseline.itertuples():
            if str(row.n) != infused:
                problems.append(Problem(row.file, int(row.line), "n", f"is {row.n} but the trial infused {infused}", "baseline rows describe the infused patients"))
            if row.count is not pd.NA and row.count > row.n:
                problems.append(Problem(row.file, int(row.line), "count", f"{row.count} exceeds n = {row.n}", "a category cannot hold more patients than n"))
    return problems


def validate_patient_level(data_dir: Path | None = None, cohort_ids: set[str] | None = None) -> list[Problem]:
    """Every problem in the patient-level files (``data_dir/simulated/*.csv`` and their
    sidecars); ``cohort_ids``: the cohort rows a sidecar's ``cohort_id`` may name."""
    from . import ipd

    data_dir = data_dir or paths.data_dir()
    folder = data_dir / "simulated"
    problems = []
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            stray = stray_problem(entry)
            if stray is not None:
                problems.append(stray)
    for path in _visible_files(folder, ".csv"):
        try:
            ipd.read_ipd_sidecar(path, cohort_ids)
            ipd.read_ipd(path)
        except DataValidationError as err:
            problems += err.problems
    return problems


def check_data(data_dir: Path | None = None) -> None:
    """Raise :class:`DataValidationError` if any data file is invalid."""
    problems = validate_all(data_dir)
    if problems:
        raise DataValidationError(problems)


def validate_path(path: Path, bib_path: Path | None = None) -> list[Problem]:
    """Every problem in a data folder (with ``cohorts/``, ``trial/``, ``external/``), in a
    ``cohorts`` folder, or in one file (a cohort CSV with its sidecar, or a patient-level CSV)."""
    path = Path(path)
    if path.is_dir():
        if (path / "cohorts").is_dir():
            return validate_all(path, bib_path)
        if path.name == "cohorts":
            return validate_cohorts(path.parent, bib_path)[1]
        return [Problem(_display(path), None, None, "is neither a data folder (with cohorts/) nor a cohorts folder", "name the data folder, its cohorts folder or one file")]
    if not path.exists():
        return [Problem(_display(path), None, None, "does not exist", "check the path")]
    if path.suffix == ".json" and path.with_suffix(".csv").exists():
        path = path.with_suffix(".csv")
    if path.suffix != ".csv":
        return [Problem(_display(path), None, None, "is not a CSV data file", "name a .csv file or a folder")]
    if path.parent.name == "simulated" or path.name.upper().startswith("SIMULATED") or "ipd" in path.stem.lower():
        from . import ipd

        data_dir = path.parent.parent
        cohort_ids = None
        if (data_dir / "cohorts").is_dir():
            cohorts, _ = validate_cohorts(data_dir, bib_path)
            cohort_ids = set(cohorts["cohort_id"]) if len(cohorts) else set()
        try:
            ipd.read_ipd_sidecar(path, cohort_ids)
            ipd.read_ipd(path)
        except DataValidationError as err:
            return err.problems
        return []
    bib_keys = bibtex_keys(bib_path)
    return read_cohort_file(path, bib_keys)[1]
