"""Editions of the book and what changed between two of them.

An **edition** is a released build's ``results.json`` (every glued value with its chapter, the
inputs' fingerprints, the digest of every cohort row and the package version), stored in the
repository as ``editions/<version>.json``. The **previous edition** of a build is the latest one
stored (by version). :func:`compare` sets two results files side by side: the changes grouped
by chapter, the headline quantities (the conclusion's glued values, among them those of the
summary of findings) apart from the rest, the cohorts added, removed or changed, and the
conclusion-level changes (:func:`conclusion_changes`).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .. import paths
from ..cohort_rows import compare_rows

EDITIONS_FOLDER = "editions"
#: An edition's version: numbers separated by dots, as in pyproject.toml (``0.1.0``).
VERSION = re.compile(r"^\d+(\.\d+)*$")
#: The chapter whose glued values are the headline quantities.
HEADLINE_CHAPTER = "book/11_conclusion"
#: Chapters left out of a comparison (they describe the comparison itself).
NOT_COMPARED = ("book/whats_new",)
#: Probability thresholds whose crossing is a conclusion-level change.
PROBABILITY_THRESHOLDS = (0.5, 0.8, 0.95)
#: Headline posterior probabilities (of benefit, of harm, of a rate below another) and
#: assurances, by key; a crossing of :data:`PROBABILITY_THRESHOLDS` is flagged.
PROBABILITY_KEY = re.compile(r"^concl_.*(_p1|_phalf|_p_harm_adjusted|_below_untreated|assurance_.*)$")
#: Headline interval of an odds ratio: the key's ``_ci`` with an ``_or`` beside it; no effect is 1.
OR_INTERVAL_KEY = re.compile(r"^(concl_.*)_ci$")
#: Headline interval of a risk difference (percentage points); no effect is 0.
DIFFERENCE_INTERVAL_KEY = re.compile(r"^concl_abs_.*_ci$")
#: Headline certainty ratings (GRADE levels).
CERTAINTY_KEY = re.compile(r"^concl_certainty_(?!start$).+$")


class EditionError(ValueError):
    """A results or edition file that cannot be read; the message names the file and the fix."""


def editions_dir(root: Path | None = None) -> Path:
    return Path(root or paths.project_root()) / EDITIONS_FOLDER


def _version(path: Path) -> tuple[int, ...] | None:
    """``0.1.0.json`` → (0, 1, 0); None when the name is not a version."""
    return tuple(int(part) for part in path.stem.split(".")) if VERSION.match(path.stem) else None


def list_editions(root: Path | None = None) -> list[Path]:
    """The stored editions, oldest first (files named by a version, e.g. ``0.1.0.json``)."""
    folder = editions_dir(root)
    found = [p for p in folder.glob("*.json") if p.is_file() and _version(p) is not None] if folder.is_dir() else []
    return sorted(found, key=_version)


def previous_edition(root: Path | None = None, version: str | None = None) -> Path | None:
    """The latest stored edition older than ``version`` (default: the running package's), so
    that the build of a released edition is compared with the one before it, not with itself;
    None when there is none yet."""
    from .. import __version__

    current = tuple(int(part) for part in (version or __version__).split(".") if part.isdigit())
    found = [path for path in list_editions(root) if _version(path) < current]
    return found[-1] if found else None


def load_results(path: Path) -> dict:
    """A results file (``results.json`` of a build, or an edition) with its keys checked.

    Raises
    ------
    EditionError
        When the file is missing, not JSON, or lacks ``results``; the message names the file
        and what to do.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EditionError(f"{path}: no such file (build the book first, or name an edition in editions/)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise EditionError(f"{path}: cannot be read ({err})") from None
    except ValueError as err:
        raise EditionError(f"{path}: not JSON ({err}); give a results.json of a build or an edition") from None
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, dict) or not all(
        isinstance(v, dict) and {"value", "text", "chapter"} <= set(v) for v in results.values()
    ):
        raise EditionError(
            f"{path}: field 'results' missing or malformed (each entry needs value, text and chapter); "
            "give a results.json of a build or an edition"
        )
    return payload


def make_edition(payload: dict, version: str) -> dict:
    """The edition of a build's results payload: the same content, marked with its version."""
    return {**payload, "edition": str(version)}


def write_edition(results_path: Path, version: str, root: Path | None = None) -> Path:
    """Store a build's results as ``editions/<version>.json``; never overwrites an edition."""
    if not VERSION.match(str(version)):
        raise EditionError(f"{version!r} is not a version: write numbers separated by dots, e.g. 0.2.0")
    payload = load_results(results_path)
    target = editions_dir(root) / f"{version}.json"
    if target.exists():
        raise FileExistsError(f"{target} exists: an edition is never rewritten (raise the version)")
    paths.write_atomic(target, json.dumps(make_edition(payload, version), indent=1, sort_keys=True) + "\n")
    return target


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _interval(value) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) is not None for v in value):
        low, high = float(value[0]), float(value[1])
        return (low, high) if not (math.isnan(low) or math.isnan(high)) else None
    return None


def _no_effect(key: str, results: dict) -> float | None:
    """The no-effect value of a headline interval: 1 for an odds ratio, 0 for a difference."""
    if DIFFERENCE_INTERVAL_KEY.match(key):
        return 0.0
    match = OR_INTERVAL_KEY.match(key)
    if match and f"{match.group(1)}_or" in results:
        return 1.0
    return None


def conclusion_changes(old: dict, new: dict) -> list[dict]:
    """The conclusion-level changes between two ``results`` mappings (headline keys only).

    * a posterior probability or assurance (:data:`PROBABILITY_KEY`) crossing 0.5, 0.8 or 0.95;
    * an interval of an odds ratio or a risk difference starting or ceasing to include no
      effect (1 or 0);
    * a certainty rating changing.

    Returns a list of {key, kind, before, after, description}, ``description`` in words.
    """
    out = []
    for key in sorted(set(old) & set(new)):
        if old[key].get("chapter") != HEADLINE_CHAPTER and new[key].get("chapter") != HEADLINE_CHAPTER:
            continue
        before, after = old[key]["value"], new[key]["value"]
        shown = f"{old[key]['text']} → {new[key]['text']}"
        if PROBABILITY_KEY.match(key) and _number(before) is not None and _number(after) is not None:
            for threshold in PROBABILITY_THRESHOLDS:
                if (before >= threshold) != (after >= threshold):
                    way = "rose above" if after >= threshold else "fell below"
                    out.append(
                        {
                            "key": key,
                            "kind": "probability crossing",
                            "threshold": threshold,
                            "before": before,
                            "after": after,
                            "description": f"{key} {way} {threshold:g} ({shown})",
                        }
                    )
        elif (null := _no_effect(key, new)) is not None and _interval(before) and _interval(after):
            was = _interval(before)[0] <= null <= _interval(before)[1]
            now = _interval(after)[0] <= null <= _interval(after)[1]
            if was != now:
                what = "now includes" if now else "no longer includes"
                out.append(
                    {
                        "key": key,
                        "kind": "interval and no effect",
                        "no_effect": null,
                        "before": before,
                        "after": after,
                        "description": f"the interval {key} {what} no effect ({null:g}) ({shown})",
                    }
                )
        elif CERTAINTY_KEY.match(key) and before != after:
            out.append(
                {
                    "key": key,
                    "kind": "certainty rating",
                    "before": before,
                    "after": after,
                    "description": f"certainty {key.removeprefix('concl_certainty_')} changed ({shown})",
                }
            )
    return out


def compare(old_payload: dict, new_payload: dict) -> dict:
    """Two results payloads side by side.

    Returns
    -------
    dict
        ``chapters``: chapter → {added, removed, changed} (changed: {key, before, after,
        before_text, after_text}), headline chapter excluded; ``headline``: the same for the
        headline quantities; ``conclusion_changes`` (:func:`conclusion_changes`); ``cohorts``:
        the cohort ids added, removed and changed (None when a file records no cohort rows);
        ``versions`` and ``inputs_changed`` (the dependency groups whose fingerprint differs).
    """
    old = {k: v for k, v in old_payload["results"].items() if v["chapter"] not in NOT_COMPARED}
    new = {k: v for k, v in new_payload["results"].items() if v["chapter"] not in NOT_COMPARED}
    chapters: dict[str, dict] = {}
    headline = {"added": [], "removed": [], "changed": []}

    def bucket(chapter: str) -> dict:
        if chapter == HEADLINE_CHAPTER:
            return headline
        return chapters.setdefault(chapter, {"added": [], "removed": [], "changed": []})

    for key in sorted(set(new) - set(old)):
        bucket(new[key]["chapter"])["added"].append(key)
    for key in sorted(set(old) - set(new)):
        bucket(old[key]["chapter"])["removed"].append(key)
    for key in sorted(set(old) & set(new)):
        if old[key]["value"] != new[key]["value"] or old[key]["text"] != new[key]["text"]:
            bucket(new[key]["chapter"])["changed"].append(
                {
                    "key": key,
                    "before": old[key]["value"],
                    "after": new[key]["value"],
                    "before_text": old[key]["text"],
                    "after_text": new[key]["text"],
                }
            )
    old_rows, new_rows = old_payload.get("cohort_rows"), new_payload.get("cohort_rows")
    cohorts = compare_rows(old_rows, new_rows) if isinstance(old_rows, dict) and isinstance(new_rows, dict) else None
    old_inputs, new_inputs = old_payload.get("inputs") or {}, new_payload.get("inputs") or {}
    return {
        "versions": {
            "old": old_payload.get("edition") or old_payload.get("nkreport_version"),
            "new": new_payload.get("edition") or new_payload.get("nkreport_version"),
        },
        "inputs_changed": sorted(
            g for g in set(old_inputs) | set(new_inputs) if old_inputs.get(g) != new_inputs.get(g)
        ),
        "cohorts": cohorts,
        "headline": headline,
        "chapters": {c: chapters[c] for c in sorted(chapters) if any(chapters[c].values())},
        "conclusion_changes": conclusion_changes(old, new),
    }


def is_unchanged(comparison: dict) -> bool:
    """True when no glued value, headline quantity or cohort row differs."""
    return (
        not comparison["chapters"]
        and not any(comparison["headline"].values())
        and not any((comparison["cohorts"] or {}).values())
    )


# --- the page on what changed in this edition ------------------------------------------------


def current_payload(data_dir: Path | None = None, glue_folder: Path | None = None) -> dict:
    """This build's results so far (the values glued by the chapters already executed, read
    with :func:`nkreport.report.glue.read_glued`) and its cohort rows, shaped like a results file."""
    from .. import __version__
    from ..cohort_rows import cohort_rows
    from .glue import read_glued

    folder = Path(data_dir or paths.data_dir()) / "cohorts"
    return {
        "nkreport_version": __version__,
        "results": read_glued(folder=glue_folder),
        "cohort_rows": cohort_rows(folder),
    }


def cohort_changes_table(comparison: dict, old_payload: dict, new_payload: dict):
    """The cohorts added, removed or changed, one row each (change, cohort, study, role, outcome)."""
    import pandas as pd

    from ..data.schema import OUTCOME_LABELS, ROLE_LABELS

    rows = []
    for state in ("added", "removed", "changed"):
        source = old_payload if state == "removed" else new_payload
        for cohort_id in (comparison["cohorts"] or {}).get(state, []):
            record = (source.get("cohort_rows") or {}).get(cohort_id, {})
            rows.append(
                {
                    "Change": state,
                    "Cohort": cohort_id,
                    "Study": record.get("study", ""),
                    "Role": ROLE_LABELS.get(record.get("role"), record.get("role", "")),
                    "Outcome": OUTCOME_LABELS.get(record.get("outcome"), record.get("outcome", "")),
                }
            )
    return pd.DataFrame(rows, columns=["Change", "Cohort", "Study", "Role", "Outcome"])


def headline_table(comparison: dict):
    """The headline quantities that moved: key, value before and after (as the book prints them)."""
    import pandas as pd

    headline = comparison["headline"]
    rows = [{"Quantity": c["key"], "Before": c["before_text"], "After": c["after_text"]} for c in headline["changed"]]
    rows += [{"Quantity": k, "Before": "(absent)", "After": "(new)"} for k in headline["added"]]
    rows += [{"Quantity": k, "Before": "(present)", "After": "(absent)"} for k in headline["removed"]]
    return pd.DataFrame(rows, columns=["Quantity", "Before", "After"])


def _thresholds() -> str:
    """'0.5, 0.8 or 0.95' from :data:`PROBABILITY_THRESHOLDS`."""
    shown = [f"{t:g}" for t in PROBABILITY_THRESHOLDS]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _names(ids: list[str]) -> str:
    return ", ".join(ids) if ids else "none"


def summary_in_words(previous: str | None, comparison: dict | None) -> dict[str, str]:
    """Sentences for the page: the edition compared with, the cohorts, the headline quantities
    and the conclusion-level changes (keys ``edition``, ``cohorts``, ``headline``, ``conclusion``)."""
    if previous is None or comparison is None:
        return {
            "edition": "No earlier edition is stored in editions/, so there is nothing to compare this build with.",
            "cohorts": "Without an earlier edition no cohort can be named as added, removed or changed.",
            "headline": "Without an earlier edition there are no earlier values of the headline quantities.",
            "conclusion": "Without an earlier edition no conclusion-level change can be assessed.",
        }
    cohorts = comparison["cohorts"] or {"added": [], "removed": [], "changed": []}
    headline = comparison["headline"]
    moved = len(headline["changed"]) + len(headline["added"]) + len(headline["removed"])
    changes = comparison["conclusion_changes"]
    return {
        "edition": f"This build is compared with edition {previous}, the latest stored in editions/.",
        "cohorts": (
            f"Cohort rows added: {_names(cohorts['added'])}; removed: {_names(cohorts['removed'])}; "
            f"changed: {_names(cohorts['changed'])}."
        ),
        "headline": (
            f"{moved} of the conclusion's quantities moved." if moved else "None of the conclusion's quantities moved."
        ),
        "conclusion": (
            "Conclusion-level changes: " + "; ".join(c["description"] for c in changes) + "."
            if changes
            else f"No conclusion-level change: no headline probability crossed {_thresholds()}, no "
            "headline interval began or ceased to include no effect, and no certainty rating changed."
        ),
    }
