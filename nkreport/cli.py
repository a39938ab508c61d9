"""The ``nkreport`` command: validate data, start a cohort file, list cohorts, show what a
rebuild will re-execute, compare two editions or builds, store an edition, and write the
SIMULATED patient-level example.

Exit codes: 0 success, 1 invalid data, 2 usage error (bad arguments, a file that would be
overwritten, no such path, a file that is not a results file), 3 (``diff`` only) the two
results differ at the level of the conclusion (a probability crossed 0.5, 0.8 or 0.95, an
interval began or ceased to include no effect, a certainty rating changed). Every subcommand
takes ``--json`` for scripts and stays JSON on every error.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
from pathlib import Path

from . import SEED, __version__, data, paths
from .cohort_rows import SELECTOR_PREFIX, cohort_rows, compare_rows, selects
from .data.schema import COHORT_COLUMNS, ID_PATTERN, MAX_ID_LENGTH, SIDECAR_KEYS, TEMPLATE_MARK, ColumnSpec

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_CONCLUSION_CHANGED = 0, 1, 2, 3
FILL = TEMPLATE_MARK + " "
#: Largest SIMULATED patient-level file ``simulate-ipd`` writes.
MAX_SIMULATED_PATIENTS = 100_000


class UsageError(Exception):
    """A request the command cannot carry out as given (exit code 2)."""


def _problem_dict(problem: data.Problem) -> dict:
    return {
        "file": problem.file,
        "line": problem.line,
        "field": problem.field,
        "message": problem.message,
        "fix": problem.fix,
        "text": str(problem),
    }


def _emit(args, payload: dict, lines: list[str], stream=None) -> None:
    stream = stream or sys.stdout
    if getattr(args, "json", False):
        stream.write(json.dumps(payload, indent=1, default=str) + "\n")
    else:
        stream.write("".join(line + "\n" for line in lines))


# --------------------------------------------------------------------------- validate


def cmd_validate(args) -> int:
    target = Path(args.path) if args.path else paths.data_dir()
    if not target.exists():
        raise UsageError(f"{target} does not exist")
    problems = data.validate_path(target, Path(args.bib) if args.bib else None)
    payload = {"path": str(target), "ok": not problems, "problems": [_problem_dict(p) for p in problems]}
    if problems:
        lines = [f"{len(problems)} problem(s) in {target}:"] + [f"  {p}" for p in problems]
    else:
        lines = [f"{target}: valid"]
    _emit(args, payload, lines)
    return EXIT_INVALID if problems else EXIT_OK


# --------------------------------------------------------------------------- new


def _placeholder(spec: ColumnSpec) -> str:
    if not spec.required:
        return ""
    return f"{FILL}{spec.type_label}"


def cohort_template(study_id: str) -> tuple[str, dict]:
    """The CSV text and sidecar of a new cohort file: every field present, required ones to fill.

    The row is deliberately invalid until each ``FILL: …`` field is replaced, so a template
    that was not filled in cannot enter the book.
    """
    row = {spec.name: _placeholder(spec) for spec in COHORT_COLUMNS}
    row["study_id"] = study_id
    row["cohort_id"] = f"{study_id}_arm_outcome"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([s.name for s in COHORT_COLUMNS])
    writer.writerow([row[s.name] for s in COHORT_COLUMNS])
    sidecar = {
        "title": FILL + SIDECAR_KEYS["title"],
        "references": [FILL + "bibtex_key_in_book_references_bib"],
        "columns": [s.name for s in COHORT_COLUMNS],
        "cohort_ids": [row["cohort_id"]],
    }
    return buffer.getvalue(), sidecar


def new_cohort(study_id: str, data_dir: Path | None = None) -> tuple[Path, Path]:
    """Write ``<data>/cohorts/<study_id>.csv`` and its sidecar from the template; never overwrites."""
    if not re.fullmatch(ID_PATTERN, study_id) or len(study_id) > MAX_ID_LENGTH - len("_arm_outcome"):
        shown = study_id if len(study_id) <= 40 else study_id[:37] + "..."
        raise UsageError(
            f"{shown!r} is not a valid study id: use lower-case letters, digits and _, "
            f"at most {MAX_ID_LENGTH - len('_arm_outcome')} characters"
        )
    folder = Path(data_dir or paths.data_dir()) / "cohorts"
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; name the data folder with --data-dir")
    csv_path, json_path = folder / f"{study_id}.csv", folder / f"{study_id}.json"
    existing = [p for p in (csv_path, json_path) if p.exists()]
    if existing:
        raise UsageError(
            f"{', '.join(map(str, existing))} already exists; nothing was written (choose another id or edit the file)"
        )
    text, sidecar = cohort_template(study_id)
    written = []
    try:
        for path, content in ((csv_path, text), (json_path, json.dumps(sidecar, indent=2) + "\n")):
            with path.open("x", encoding="utf-8") as handle:
                written.append(path)
                handle.write(content)
    except OSError as err:
        for path in written:  # nothing half-written stays behind
            path.unlink(missing_ok=True)
        raise UsageError(
            f"cannot write {path} ({err.strerror or err}); nothing was written (check that the data folder is writable)"
        ) from None
    return csv_path, json_path


def cmd_new(args) -> int:
    csv_path, json_path = new_cohort(args.study_id, Path(args.data_dir) if args.data_dir else None)
    required = [s.name for s in COHORT_COLUMNS if s.required]
    payload = {"csv": str(csv_path), "sidecar": str(json_path), "required_fields": required}
    lines = [
        f"wrote {csv_path}",
        f"wrote {json_path}",
        "replace every 'FILL: ...' (required: " + ", ".join(required) + "),",
        "add one row per arm and outcome, list their cohort_id in the sidecar, then run `nkreport validate`.",
    ]
    _emit(args, payload, lines)
    return EXIT_OK


# --------------------------------------------------------------------------- list


def cohort_listing(data_dir: Path | None = None, bib_path: Path | None = None, use: str | None = None):
    """The cohort rows as the ``list`` command shows them (raises on invalid data)."""
    table = data.load_cohorts(data_dir, use=use, bib_path=bib_path)
    out = table[
        ["cohort_id", "study", "role", "arm", "outcome", "events", "n", "window_days", "use", "verified"]
    ].copy()
    out["window_days"] = out["window_days"].astype("object").where(out["window_days"].notna(), None)
    return out


def cmd_list(args) -> int:
    try:
        table = cohort_listing(
            Path(args.data_dir) if args.data_dir else None,
            Path(args.bib) if args.bib else None,
            None if args.all else "primary",
        )
    except data.DataValidationError as err:
        _emit(args, {"ok": False, "problems": [_problem_dict(p) for p in err.problems]}, [str(err)])
        return EXIT_INVALID
    records = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in table.to_dict("records")]
    shown = table.assign(window_days=table["window_days"].map(lambda v: "not stated" if v is None else f"{v} d"))
    lines = [shown.to_string(index=False), f"{len(table)} cohort rows"]
    _emit(args, {"ok": True, "cohorts": records}, lines)
    return EXIT_OK


# --------------------------------------------------------------------------- status


def _stored_rows(record: Path) -> dict | None:
    """The cohort rows the last build recorded (None if it recorded none)."""
    try:
        rows = json.loads(record.read_text(encoding="utf-8")).get("cohort_rows")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return None
    return rows if isinstance(rows, dict) else None


def _cohort_reasons(changes: dict | None, before: dict | None, now: dict, dependencies: list[str]) -> list[str]:
    """'cohort x added (external_baseline, rejection)' for the changed cohort rows a chapter's
    changed dependencies read."""
    if not changes:
        return []
    out = []
    for state in ("added", "removed", "changed"):
        for cohort_id in changes[state]:
            record = (before or {}).get(cohort_id) if state == "removed" else now.get(cohort_id)
            if not isinstance(record, dict):
                continue
            if any(d == "cohorts" or (d.startswith(SELECTOR_PREFIX) and selects(d, record)) for d in dependencies):
                out.append(f"cohort {cohort_id} {state} ({record.get('role')}, {record.get('outcome')})")
    return out


def rebuild_status(root: Path | None = None, build_dir: Path | None = None) -> dict:
    """Which chapters the next build will re-execute because their inputs changed.

    Compares every chapter's current input fingerprint (its data groups and the package) and
    source with those recorded by the last build in ``<build_dir>/nkreport-inputs.json``.
    """
    from .build import fingerprints as hooks

    root = Path(root or paths.project_root())
    build_dir = Path(build_dir or root / "_build")
    record = build_dir / hooks.INPUTS_FILE
    if not record.exists():
        return {
            "previous_build": None,
            "chapters": {},
            "reexecute": None,
            "message": f"no previous build recorded in {build_dir}: the next build executes every chapter",
        }
    try:
        stored = json.loads(record.read_text(encoding="utf-8"))["chapters"]
        if not isinstance(stored, dict):
            raise TypeError
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return {
            "previous_build": None,
            "chapters": {},
            "reexecute": None,
            "message": f"the record of the last build ({record}) is unreadable (was that build interrupted?): "
            "the next build executes every chapter",
        }
    previous_rows = _stored_rows(record)
    current_rows = cohort_rows(hooks.group_base(root, "cohorts"))
    rows_changed = compare_rows(previous_rows, current_rows) if previous_rows is not None else None
    chapters, reexecute = {}, []
    for docname, entry in sorted(stored.items()):
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
            chapters[docname] = {"state": "re-execute", "reasons": ["record unreadable"], "groups": []}
            reexecute.append(docname)
            continue
        source = root / entry["source"]
        if not source.exists():
            chapters[docname] = {"state": "removed"}
            continue
        text = source.read_text(encoding="utf-8")
        groups = hooks.chapter_dependencies(text) or ()
        reasons = []
        if list(groups) != entry["groups"]:
            reasons.append("declared inputs changed")
        recorded = entry.get("group_fingerprints", {})
        changed_groups = [g for g in groups if hooks.dependency_fingerprint(root, g)[:16] != recorded.get(g)]
        if hooks.chapter_fingerprint(root, groups) != entry["fingerprint"]:
            reasons.append("inputs changed: " + "; ".join(map(hooks.describe_dependency, changed_groups or groups)))
            reasons += _cohort_reasons(rows_changed, previous_rows, current_rows, changed_groups)
        if entry.get("source_sha") and hashlib.sha256(source.read_bytes()).hexdigest()[:16] != entry["source_sha"]:
            reasons.append("chapter source changed")
        chapters[docname] = {"state": "re-execute" if reasons else "cached", "reasons": reasons, "groups": list(groups)}
        if reasons:
            reexecute.append(docname)
    return {
        "previous_build": str(record),
        "cohorts_changed": rows_changed,
        "chapters": chapters,
        "reexecute": reexecute,
        "message": (
            f"{len(reexecute)} of {len(chapters)} chapters will re-execute"
            if reexecute
            else "no chapter's inputs changed since the last build"
        ),
    }


def cmd_status(args) -> int:
    root = Path(args.root) if args.root else paths.project_root()
    status = rebuild_status(root, Path(args.build_dir) if args.build_dir else None)
    problems = data.validate_all(paths.data_dir() if not args.root else root / "data")
    status["data_valid"] = not problems
    status["problems"] = [_problem_dict(p) for p in problems]
    lines = [status["message"]]
    for docname, entry in status["chapters"].items():
        why = "; ".join(entry.get("reasons", []))
        lines.append(f"  {entry['state']:<10} {docname}" + (f"  ({why})" if why else ""))
    if problems:
        lines.append(
            f"the data is invalid ({len(problems)} problem(s)): the build will stop before executing any chapter; run "
            f"`nkreport validate`"
        )
    _emit(args, status, lines)
    return EXIT_INVALID if problems else EXIT_OK


# --------------------------------------------------------------------------- diff and edition


def _results_path(spec: str | None, root: Path, build_dir: Path | None, default_new: bool) -> Path:
    """A results file named by a path or an edition's version; the default is the previous
    edition (old) or the last build's ``results.json`` (new)."""
    from .report import editions

    if spec is None:
        if default_new:
            return Path(build_dir or root / "_build") / "html" / "results.json"
        found = editions.previous_edition(root)
        if found is None:
            raise UsageError(
                f"no edition stored in {editions.editions_dir(root)}: name the older results file, "
                "or store an edition with `nkreport edition`"
            )
        return found
    if editions.VERSION.match(spec) and not Path(spec).exists():
        return editions.editions_dir(root) / f"{spec}.json"
    return Path(spec)


def _load(path: Path) -> dict:
    from .report import editions

    try:
        return editions.load_results(path)
    except editions.EditionError as err:
        raise UsageError(str(err)) from None


def cmd_diff(args) -> int:
    from .report import editions

    root = Path(args.root) if args.root else paths.project_root()
    build_dir = Path(args.build_dir) if args.build_dir else None
    old_path = _results_path(args.old, root, build_dir, default_new=False)
    new_path = _results_path(args.new, root, build_dir, default_new=True)
    old, new = _load(old_path), _load(new_path)
    comparison = editions.compare(old, new)
    payload = {"ok": True, "old": str(old_path), "new": str(new_path), **comparison}
    lines = [f"comparing {old_path} (version {comparison['versions']['old']}) with {new_path}"]
    cohorts = comparison["cohorts"]
    if cohorts is None:
        lines.append("cohorts: not recorded in both files")
    else:
        rows = {**(old.get("cohort_rows") or {}), **(new.get("cohort_rows") or {})}
        for state in ("added", "removed", "changed"):
            for cohort_id in cohorts[state]:
                record = rows.get(cohort_id, {})
                lines.append(f"cohort {state}: {cohort_id} ({record.get('role')}, {record.get('outcome')})")
        if not any(cohorts.values()):
            lines.append("cohorts: none added, removed or changed")

    def describe(change: dict) -> str:
        return f"    {change['key']}: {change['before_text']} -> {change['after_text']}"

    headline = comparison["headline"]
    lines.append("headline quantities (the conclusion and its summary of findings):")
    lines += [describe(c) for c in headline["changed"]]
    lines += [f"    added {k}" for k in headline["added"]] + [f"    removed {k}" for k in headline["removed"]]
    if not any(headline.values()):
        lines.append("    none changed")
    lines.append("conclusion-level changes:")
    lines += [f"    {c['description']}" for c in comparison["conclusion_changes"]] or ["    none"]
    lines.append("other changes, by chapter:")
    for chapter, changes in comparison["chapters"].items():
        counts = ", ".join(f"{len(v)} {k}" for k, v in changes.items() if v)
        lines.append(f"  {chapter} ({counts})")
        lines += [describe(c) for c in changes["changed"]]
        lines += [f"    added {k}" for k in changes["added"]] + [f"    removed {k}" for k in changes["removed"]]
    if not comparison["chapters"]:
        lines.append("  none")
    _emit(args, payload, lines)
    return EXIT_CONCLUSION_CHANGED if comparison["conclusion_changes"] else EXIT_OK


def cmd_edition(args) -> int:
    from .report import editions

    root = Path(args.root) if args.root else paths.project_root()
    results = Path(args.results) if args.results else root / "_build" / "html" / "results.json"
    version = args.version or __version__
    try:
        target = editions.write_edition(results, version, root)
    except editions.EditionError as err:
        raise UsageError(str(err)) from None
    except FileExistsError as err:
        raise UsageError(str(err)) from None
    _emit(args, {"ok": True, "edition": str(target), "version": version}, [f"wrote edition {version}: {target}"])
    return EXIT_OK


# --------------------------------------------------------------------------- simulate-ipd


def cmd_simulate_ipd(args) -> int:
    from .data import patient_level as ipd

    if not 1 <= args.n <= MAX_SIMULATED_PATIENTS:
        raise UsageError(f"--n {args.n}: give a number of patients between 1 and {MAX_SIMULATED_PATIENTS:,}")
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: give a seed of 0 or more")
    path = ipd.write_simulated(Path(args.out) if args.out else None, n=args.n, seed=args.seed)
    _emit(
        args,
        {"csv": str(path), "sidecar": str(path.with_suffix(".json")), "seed": args.seed, "n": args.n},
        [f"wrote SIMULATED patient-level records (not real data): {path}"],
    )
    return EXIT_OK


# --------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nkreport",
        description=__doc__.split("\n\n")[0],
        epilog="exit codes: 0 success; 1 invalid data; 2 usage error (bad arguments, a file that would be "
        "overwritten, no such path, a file that is not a results file); 3 (diff only) a conclusion-level change.",
    )
    parser.add_argument("--version", action="version", version=f"nkreport {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, help_text, func):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)
        return p

    p = add("validate", "check a data folder, a cohorts folder or one file", cmd_validate)
    p.add_argument("path", nargs="?", help="default: the data folder (NKREPORT_DATA or <project>/data)")
    p.add_argument("--bib", help="BibTeX file the sidecars' references must be in (default book/references.bib)")

    p = add("new", "write a template cohort file and sidecar listing every field", cmd_new)
    p.add_argument("study_id", metavar="COHORT_STUDY_ID", help="lower-case id, e.g. smith2026")
    p.add_argument("--data-dir", help="data folder (default NKREPORT_DATA or <project>/data)")

    p = add("list", "list cohorts with role, outcome, window and verified flag", cmd_list)
    p.add_argument("--all", action="store_true", help="include sensitivity-only rows")
    p.add_argument("--data-dir", help="data folder")
    p.add_argument("--bib", help="BibTeX file")

    p = add("status", "which chapters the next build will re-execute", cmd_status)
    p.add_argument("--root", help="project folder (default: found from the current directory)")
    p.add_argument("--build-dir", help="build folder of the last build (default <project>/_build)")

    p = add(
        "diff",
        "compare two results files: by chapter, headline quantities apart, conclusion-level changes flagged "
        "(exit 0: none at the conclusion's level; 3: a probability crossed 0.5, 0.8 or 0.95, an interval began "
        "or ceased to include no effect, or a certainty rating changed; 2: a file missing or not a results file)",
        cmd_diff,
    )
    p.add_argument(
        "old", nargs="?", help="older results: a path or an edition's version (default: the previous edition)"
    )
    p.add_argument("new", nargs="?", help="newer results: a path or a version (default: _build/html/results.json)")
    p.add_argument("--root", help="project folder (default: found from the current directory)")
    p.add_argument("--build-dir", help="build folder whose html/results.json is the default NEW")

    p = add("edition", "store the last build's results as the edition editions/<version>.json", cmd_edition)
    p.add_argument("--results", help="results file (default <project>/_build/html/results.json)")
    p.add_argument("--version", help="the edition's version (default: the package's)")
    p.add_argument("--root", help="project folder")

    p = add("simulate-ipd", "write the SIMULATED patient-level example (not real data)", cmd_simulate_ipd)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--n", type=int, default=60, help="number of simulated patients")
    p.add_argument("--out", help="folder (default <data>/simulated)")
    return parser


class _Parser(argparse.ArgumentParser):
    """Argument errors exit with code 2, and stay JSON on stdout when ``--json`` was given."""

    json_requested = False

    def error(self, message: str):
        if _Parser.json_requested:
            sys.stdout.write(json.dumps({"ok": False, "error": message}) + "\n")
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _fail(args, message: str, code: int) -> int:
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps({"ok": False, "error": message}) + "\n")
    sys.stderr.write(f"nkreport {getattr(args, 'command', '')}: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_requested = "--json" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as err:
        return _fail(args, str(err), EXIT_USAGE)
    except data.DataValidationError as err:
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"ok": False, "problems": [_problem_dict(p) for p in err.problems]}) + "\n")
        sys.stderr.write(str(err) + "\n")
        return EXIT_INVALID
    except (OSError, RecursionError) as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return _fail(args, f"cannot carry out the command: {getattr(err, 'strerror', None) or err}{where}", EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
