"""The readers of the data folder, one per format: text tables (CSV), strict JSON sidecars,
BibTeX entry keys, and the files a folder holds (hidden and backup files refused). Every
reader returns problems instead of raising, and never leaves a traceback."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from .. import paths
from .problems import Problem, display_path
from .schema import (
    IDENTIFIER_COLUMN_PATTERN,
    ColumnSpec,
)


def read_text_table(path: Path, specs: tuple[ColumnSpec, ...]) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CSV file as strings and check its encoding, delimiter, header and row shape.

    Returns the table (all fields as ``str``; index = line number in the file) and the problems.
    """
    name = display_path(path)
    problems: list[Problem] = []
    if path.is_dir():
        return pd.DataFrame(), [
            Problem(
                name, None, None, "is a folder, not a data file", "replace the folder with the CSV file or remove it"
            )
        ]
    if path.exists() and not path.is_file():
        return pd.DataFrame(), [
            Problem(
                name, None, None, "is not a regular file (a pipe, socket or device)", "replace it with the CSV file"
            )
        ]
    try:
        raw = path.read_bytes()
    except OSError as err:
        return pd.DataFrame(), [
            Problem(name, None, None, f"cannot be read ({err.strerror})", "check the path and its permissions")
        ]
    if not raw.strip():
        return pd.DataFrame(), [
            Problem(
                name,
                None,
                None,
                "is empty",
                "write a header line and at least one row (`nkreport new` makes a template)",
            )
        ]
    if raw.startswith(b"\xef\xbb\xbf"):
        return pd.DataFrame(), [
            Problem(name, 1, None, "starts with a byte-order mark (BOM)", "save the file as UTF-8 without BOM")
        ]
    if b"\x00" in raw[:8192]:
        return pd.DataFrame(), [
            Problem(
                name, None, None, "is not a text file (it contains NUL bytes)", "save the table as CSV text (UTF-8)"
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return pd.DataFrame(), [
            Problem(
                name,
                line,
                None,
                f"is not valid UTF-8 (byte 0x{raw[err.start]:02x})",
                "save the file with UTF-8 encoding",
            )
        ]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return pd.DataFrame(), [
            Problem(
                name, line, None, "is not a text file (it contains NUL bytes)", "save the table as CSV text (UTF-8)"
            )
        ]
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        return pd.DataFrame(), [
            Problem(
                name,
                None,
                None,
                f"cannot be parsed as CSV ({err})",
                "save the table as comma-separated text with quoted fields",
            )
        ]
    if not rows or not any(cell.strip() for cell in rows[0]):
        return pd.DataFrame(), [
            Problem(
                name,
                1,
                None,
                "does not start with a header line",
                "put the column names on the first line (`nkreport new` makes a template)",
            )
        ]
    header = [h.strip() for h in rows[0]]
    expected = [s.name for s in specs]
    if len(header) == 1 and any(d in rows[0][0] for d in ";\t|"):
        delimiter = next(d for d in ";\t|" if d in rows[0][0])
        return pd.DataFrame(), [
            Problem(name, 1, None, f"uses {delimiter!r} as delimiter", "separate fields with commas")
        ]
    privacy = [h for h in header if re.search(IDENTIFIER_COLUMN_PATTERN, h.lower())]
    if privacy:
        return pd.DataFrame(), [
            Problem(
                name,
                1,
                h,
                "looks like a direct patient identifier and is refused: the data folder is published with the book, "
                "and names, birth dates, record numbers or addresses identify patients",
                "remove the column; cohort files hold aggregate counts only (patient-level files hold an opaque "
                "patient_id and days, see the data dictionary)",
            )
            for h in privacy
        ]
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    for column in missing:
        spec = next(s for s in specs if s.name == column)
        problems.append(
            Problem(name, 1, column, "column is missing from the header", f"add the column ({spec.description})")
        )
    for column in extra:
        problems.append(
            Problem(
                name, 1, column, "is not a known column", "remove it or rename it to one of: " + ", ".join(expected)
            )
        )
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        problems.append(Problem(name, 1, dup[0], "column appears more than once", "keep one copy"))
    body = rows[1:]
    if not any(any(cell.strip() for cell in row) for row in body):
        problems.append(
            Problem(name, None, None, "has a header but no rows", "add at least one row, or remove the file")
        )
    for number, row in enumerate(body, start=2):
        if len(row) != len(header) and any(cell.strip() for cell in row):
            problems.append(
                Problem(
                    name,
                    number,
                    None,
                    f"has {len(row)} fields but the header has {len(header)}",
                    "quote fields that contain commas and give every column a value (empty is allowed)",
                )
            )
    if problems:
        return pd.DataFrame(), problems
    kept = [(number, row) for number, row in enumerate(body, start=2) if any(cell.strip() for cell in row)]
    frame = pd.DataFrame([row for _, row in kept], columns=header, index=[n for n, _ in kept], dtype=str)
    frame = frame.apply(lambda col: col.str.strip())
    return frame[expected], problems


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
    name = display_path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        return None, [
            Problem(
                name, None, None, "is not a regular file (a pipe, socket or device)", "replace it with the sidecar file"
            )
        ]
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        return None, [
            Problem(name, None, None, "is a folder, not a JSON file", "replace the folder with the sidecar file")
        ]
    except OSError as err:
        return None, [
            Problem(
                name,
                None,
                None,
                f"cannot be read ({err.strerror or err})",
                "check the path, its permissions and any symbolic link",
            )
        ]
    if len(raw) > MAX_SIDECAR_BYTES:
        return None, [
            Problem(
                name,
                None,
                None,
                f"is {len(raw):,} bytes, more than a sidecar needs ({MAX_SIDECAR_BYTES:,})",
                "keep the sidecar to its documented keys",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return None, [Problem(name, line, None, "is not valid UTF-8", "save the file with UTF-8 encoding")]
    if text.startswith("\ufeff"):
        return None, [
            Problem(name, 1, None, "starts with a byte-order mark (BOM)", "save the file as UTF-8 without BOM")
        ]
    if _json_depth(text) > MAX_JSON_DEPTH:
        return None, [
            Problem(
                name,
                None,
                None,
                f"is nested more than {MAX_JSON_DEPTH} levels deep",
                "write an object whose values are texts, booleans or lists of texts",
            )
        ]
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant), []
    except _DuplicateKey as err:
        key = str(err)
        line = next((i for i, row in enumerate(text.splitlines(), start=1) if f'"{key}"' in row), None)
        lines = [i for i, row in enumerate(text.splitlines(), start=1) if f'"{key}"' in row]
        line = lines[1] if len(lines) > 1 else line
        return None, [
            Problem(
                name,
                line,
                key,
                "key appears more than once (JSON readers keep only one of them)",
                "keep one copy of the key",
            )
        ]
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
        return Problem(
            display_path(path),
            None,
            None,
            "is a hidden data file: `ls` does not show it, so it would enter the book unseen",
            "rename it without the leading '.' if it belongs to the book, or move it out of the data folder",
        )
    if _BACKUP.search(name) and (looks_like_data or name.startswith("#")):
        return Problem(
            display_path(path),
            None,
            None,
            "looks like an editor's backup or temporary copy",
            "remove it, or rename it to <study>.csv if it is the file to use",
        )
    return None


def visible_files(folder: Path, suffix: str) -> list[Path]:
    """The files of ``folder`` with ``suffix`` that are neither hidden nor backups, sorted."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.suffix == suffix and not p.name.startswith(".") and stray_problem(p) is None]


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
            head = re.match(r"\s*([^,\s{}()]+)\s*,", text[match.end(2) : end])
            if head:
                keys.add(head.group(1))
        position = end


def bibtex_keys(bib_path: Path | None = None) -> set[str] | None:
    """The entry keys of the book's BibTeX file, or None if there is none."""
    bib_path = bib_path or paths.project_root() / "book" / "references.bib"
    if not bib_path.is_file():
        return None
    return parse_bibtex_keys(bib_path.read_text(encoding="utf-8", errors="replace"))


def read_sidecar(
    table_path: Path, keys: dict[str, str], create_hint: str = "create it"
) -> tuple[dict | None, list[Problem]]:
    """The JSON sidecar beside ``table_path``, read strictly and checked to hold exactly ``keys``
    (key -> meaning, the fix for a missing key): one reading and one wording for every sidecar."""
    side = table_path.with_suffix(".json")
    name = display_path(side)
    listing = ", ".join(keys)
    if not side.exists() and not side.is_symlink():
        return None, [
            Problem(
                display_path(table_path),
                None,
                None,
                f"has no sidecar {side.name}",
                f"{create_hint} with keys: {listing}",
            )
        ]
    meta, problems = read_json_strict(side)
    if problems:
        return None, problems
    if not isinstance(meta, dict):
        return None, [Problem(name, None, None, "is not a JSON object", f"write an object with keys: {listing}")]
    problems = [Problem(name, None, key, "key is missing", meaning) for key, meaning in keys.items() if key not in meta]
    problems += [
        Problem(name, None, key, "is not a known sidecar key", f"use only: {listing}")
        for key in meta
        if key not in keys
    ]
    return (None if problems else meta), problems
