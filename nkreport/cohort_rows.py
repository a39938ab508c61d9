"""Row-level fingerprints of the cohort files, free of pandas (the build's fingerprints,
``nkreport status`` and the editions use them without loading the data stack).

A **row selector** names cohort rows by the data model: ``cohorts/outcome=bsi`` (every BSI row),
``cohorts/role=trial`` (the trial's rows), ``cohorts/outcome=rejection/role=external_baseline``
(both conditions), ``cohorts/outcome=rejection|related_ae`` (either value). Its fingerprint
covers exactly the rows it selects (their file and every field) and the sidecars of the files
holding them, so a cohort of another role or outcome leaves it unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

#: The cohort fields a selector may test, with their allowed values (as in
#: :mod:`nkreport.data.schema`, which a test keeps in step).
SELECTOR_FIELDS: dict[str, tuple[str, ...]] = {
    "role": ("trial", "earlier_treated", "earlier_untreated", "external_baseline"),
    "outcome": ("bsi", "rejection", "related_ae", "severe_related_ae", "hcc_recurrence"),
}
SELECTOR_PREFIX = "cohorts/"


class SelectorError(ValueError):
    """A row selector that names an unknown field or value."""


def parse_selector(text: str) -> dict[str, frozenset[str]]:
    """``cohorts/outcome=bsi/role=trial|earlier_treated`` → {field: allowed values}.

    Raises
    ------
    SelectorError
        On an unknown field or value, or a condition without ``=``; the message lists the
        allowed ones.
    """
    if not text.startswith(SELECTOR_PREFIX):
        raise SelectorError(f"{text!r} is not a row selector (it starts with {SELECTOR_PREFIX!r})")
    conditions: dict[str, frozenset[str]] = {}
    for part in text.removeprefix(SELECTOR_PREFIX).split("/"):
        field, sep, values = part.partition("=")
        if not sep or field not in SELECTOR_FIELDS:
            raise SelectorError(
                f"{text!r}: write conditions as field=value with a field among {sorted(SELECTOR_FIELDS)}"
            )
        chosen = frozenset(v.strip() for v in values.split("|") if v.strip())
        unknown = sorted(chosen - set(SELECTOR_FIELDS[field]))
        if unknown or not chosen:
            raise SelectorError(f"{text!r}: {field} must be among {list(SELECTOR_FIELDS[field])}, not {unknown}")
        conditions[field] = chosen
    return conditions


def describe_selector(text: str) -> str:
    """In words: ``cohorts/outcome=bsi`` → 'cohort rows with outcome bsi'."""
    conditions = parse_selector(text)
    return "cohort rows with " + " and ".join(
        f"{field} {' or '.join(sorted(values))}" for field, values in sorted(conditions.items())
    )


def _rows(path: Path) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows of a cohort CSV, or None when it cannot be read as one."""
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows or not {"cohort_id", "role", "outcome"} <= set(rows[0]):
        return None
    return rows[0], rows[1:]


def cohort_csv_files(folder: Path) -> list[Path]:
    """The CSV files of a cohorts folder (and its subfolders), sorted."""
    return sorted(p for p in Path(folder).rglob("*.csv") if p.is_file() and "__pycache__" not in p.parts)


def row_digest(header: list[str], row: list[str]) -> str:
    """SHA-256 of a row's fields, each named by its column."""
    digest = hashlib.sha256()
    for name, value in zip(header, row, strict=False):
        digest.update(name.encode() + b"=" + value.encode() + b"\0")
    digest.update(b"extra:" + "\0".join(row[len(header) :]).encode())
    return digest.hexdigest()


def cohort_rows(folder: Path) -> dict[str, dict]:
    """Every cohort row of a cohorts folder: cohort_id → {file, role, outcome, study, sha}.

    ``sha`` is :func:`row_digest` of the row; ``file`` is relative to ``folder``. Files that
    cannot be read as cohort tables are left out (validation reports them).
    """
    out: dict[str, dict] = {}
    for path in cohort_csv_files(folder):
        parsed = _rows(path)
        if parsed is None:
            continue
        header, rows = parsed
        for row in rows:
            record = dict(zip(header, row, strict=False))
            out[record.get("cohort_id", "")] = {
                "file": path.relative_to(folder).as_posix(),
                "role": record.get("role", ""),
                "outcome": record.get("outcome", ""),
                "study": record.get("study", ""),
                "sha": row_digest(header, row)[:16],
            }
    return out


def selector_fingerprint(folder: Path, selector: str, location: str = "") -> str:
    """SHA-256 of the rows ``selector`` picks in a cohorts folder (file, fields) and of the
    sidecars of the files holding them. A file that cannot be read as a cohort table enters
    whole (the build's validation stops on it anyway), so the fingerprint errs towards change."""
    conditions = parse_selector(selector)
    digest = hashlib.sha256(selector.encode() + b"\0" + location.encode() + b"\0")
    for path in cohort_csv_files(folder):
        relative = path.relative_to(folder).as_posix().encode()
        parsed = _rows(path)
        if parsed is None:
            digest.update(b"unreadable:" + relative + b"\0" + path.read_bytes() + b"\0")
            continue
        header, rows = parsed
        index = {name: header.index(name) for name in conditions}
        picked = [
            row
            for row in rows
            if all(len(row) > index[name] and row[index[name]].strip() in values for name, values in conditions.items())
        ]
        if not picked:
            continue
        digest.update(b"file:" + relative + b"\0")
        for row in picked:
            digest.update(row_digest(header, row).encode())
        sidecar = path.with_suffix(".json")
        digest.update(b"sidecar:" + (sidecar.read_bytes() if sidecar.is_file() else b"(none)") + b"\0")
    return digest.hexdigest()


def selects(selector: str, record: dict) -> bool:
    """Whether ``selector`` picks a row described by ``record`` (with ``role`` and ``outcome``)."""
    return all(str(record.get(name, "")).strip() in values for name, values in parse_selector(selector).items())


def compare_rows(old: dict[str, dict], new: dict[str, dict]) -> dict[str, list[str]]:
    """Cohort ids added, removed and changed between two :func:`cohort_rows` records."""
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(k for k in set(old) & set(new) if old[k].get("sha") != new[k].get("sha")),
    }
