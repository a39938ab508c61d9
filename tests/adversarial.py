"""Shared helpers of the adversarial corpus (``test_adversarial_*.py``, one file per class of
hostile or broken input).

Each case copies the shipped data folder and the BibTeX file to a temporary folder, adds or
breaks one thing, and asserts that validation refuses it naming the file, the line and the field
with a fix, or, for strings that are legal data, that they reach the book as inert text.
Every row written here is a TEST FIXTURE, not data.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from nkreport import data, paths
from nkreport.data.schema import COHORT_COLUMNS

ROOT = paths.project_root()
HEADER = [s.name for s in COHORT_COLUMNS]

#: Strings that are markup in MyST, Jinja, HTML, LaTeX or mathtext. In a study label or a note
#: they are legal data and must arrive in the book as the very characters typed.
INJECTION_PAYLOADS = {
    "jinja": "{{ env.__class__.__init__.__globals__['os'].system('touch /tmp/nkreport-pwned') }}",
    "jinja_block": "{% for x in range(3) %}loop{% endfor %}",
    "script": "<script>window.__nkreport_pwned = 1</script>",
    "img_onerror": "<img src=x onerror=\"window.__nkreport_pwned = 2\">",
    "javascript_link": "[click](javascript:window.__nkreport_pwned=3)",
    "autolink": "<javascript:alert(1)>",
    "download_role": "{download}`/etc/hostname`",
    "include_directive": "```{include} /etc/hostname\n```",
    "admonition": ":::{warning}\ninjected\n:::",
    "math_role": "{math}`\\input{/etc/hostname}`",
    "latex_input": "\\input{/etc/hostname} \\write18{touch /tmp/nkreport-pwned}",
    "dollar_math": "Bad $x^$ label",
    "html_entity": "&lt;b&gt; &#60;i&#62;",
    "pipe_and_backticks": "a | b ``` c",
    "substitution_key": "{{ trial_bsi_events }}",
}


def make_world(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of data/ and book/references.bib: (data_dir, bib_path)."""
    data_dir = tmp_path / "data"
    shutil.copytree(ROOT / "data", data_dir)
    bib = tmp_path / "references.bib"
    shutil.copy(ROOT / "book" / "references.bib", bib)
    return data_dir, bib


def example_row(**changes) -> dict[str, str]:
    """A valid row (the schema's examples), changed as given. A TEST FIXTURE, not data."""
    row = {s.name: s.example for s in COHORT_COLUMNS}
    row.update(
        cohort_id="fixture_nk_bsi",
        study_id="fixture",
        study="Test fixture (not data)",
        source="doi:10.1371/journal.pone.0313102",
    )
    row.update({k: str(v) for k, v in changes.items()})
    return row


def csv_text(rows: list[dict], header=None) -> str:
    header = header or HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buffer.getvalue()


def write_cohort(
    data_dir: Path, stem: str, rows: list[dict], *, header=None, sidecar: dict | None = None, references=("ohira2025",)
) -> Path:
    header = header or HEADER
    path = data_dir / "cohorts" / f"{stem}.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    meta = {
        "title": "Test fixture.",
        "references": list(references),
        "columns": list(header),
        "cohort_ids": [row.get("cohort_id", "") for row in rows],
    }
    meta.update(sidecar or {})
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def problems_of(world: tuple[Path, Path]) -> list[data.Problem]:
    return data.validate_all(world[0], world[1])


def refused(problems: list[data.Problem], *, file: str, line, field) -> data.Problem:
    """The problem naming ``file`` (a suffix of its path), ``line`` and ``field``, with a fix."""
    matching = [p for p in problems if p.file.endswith(file) and p.line == line and p.field == field]
    assert matching, f"no problem for {file}, line {line}, field {field!r}: {[str(p) for p in problems]}"
    problem = matching[0]
    assert problem.fix and problem.message, problem
    text = str(problem)
    assert file in text and (line is None or f"line {line}" in text) and (field is None or f"'{field}'" in text)
    return problem
