"""One road from a computed value to the reader: ``glue``.

:func:`glue` hands a value to myst-nb (so prose can insert it with ``{glue}`key```) as an
object whose plain-text form is the formatted number and whose JSON form carries the raw
value. The book's Sphinx extension (:mod:`nkreport.build.extension`) collects the JSON forms of every
chapter into ``_build/html/results.json``, so tests and readers see the very values the prose
shows.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from .. import paths

RESULTS_FILE = "results.json"
#: The mime type carrying a glued value as JSON text inside the executed notebook.
RESULT_MIME = "text/x-nkreport-result"


def _plain(value: Any) -> Any:
    """Convert numpy and pandas scalars and containers to JSON-ready Python values."""
    import numpy as np  # here, not at the top: the build's Sphinx process never needs it

    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


class GluedValue:
    """A value with its text as shown in prose; renders as the text, serialises as both."""

    def __init__(self, key: str, value: Any, text: str):
        self.key = key
        self.value = _plain(value)
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        payload = json.dumps({"key": self.key, "value": self.value, "text": self.text})
        return {"text/plain": self.text, RESULT_MIME: payload}


#: The space between a number and its unit sign (%): narrow and non-breaking (U+202F), so a
#: line never starts with "%". The book's extension puts it wherever a digit and "%" are
#: separated by an ordinary space in the rendered text (:func:`typeset`).
NUMBER_UNIT_SPACE = "\u202f"
#: A minus sign (U+2212), not a hyphen.
MINUS = "\u2212"
_DIGIT_SPACE_PERCENT = re.compile(r"(?<=\d)[ \u00a0]+(?=%)")
_HYPHEN_MINUS = re.compile(r"(?<![\w.\-/:])-(?=\d)")


def typeset(text: str) -> str:
    """Reader-facing typography for a run of prose or a table cell: a narrow no-break space
    between a number and "%" (``'34.2 %'`` → ``'34.2\u202f%'``) and a true minus sign for a
    hyphen that stands before a number at the start of a word (``'-0.5'`` → ``'−0.5'``; ranges
    such as ``'10-40'``, dates, identifiers such as ``'e0313102-1'`` and ``'Beta(1, -1)'``
    inside code are not touched: callers skip literal text)."""
    text = _DIGIT_SPACE_PERCENT.sub(NUMBER_UNIT_SPACE, text)
    return _HYPHEN_MINUS.sub(MINUS, text)


def fmt_percent(proportion: float, digits: int = 1) -> str:
    """0.31579 → '31.6\u202f%' (a narrow no-break space before the sign)."""
    return f"{100 * proportion:.{digits}f}{NUMBER_UNIT_SPACE}%"


def fmt_interval(low: float, high: float, digits: int = 1, percent: bool = True) -> str:
    """A confidence or credible interval, '16.6 % to 53.9 %' style."""
    if percent:
        return f"{fmt_percent(low, digits)} to {fmt_percent(high, digits)}"
    return f"{low:.{digits}f} to {high:.{digits}f}"


def fmt_number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def fmt_signed(value: float, digits: int = 0) -> str:
    """A number with a true minus sign: -38.2 → '−38'."""
    return f"{value:.{digits}f}".replace("-", MINUS)


def mcmc_digits(mcse: float, max_digits: int = 2) -> int:
    """Decimal places a Monte Carlo estimate supports: the most (up to ``max_digits``) whose last
    place, 10^-d, is at least twice the Monte Carlo standard error, so that a rerun with another
    seed would rarely change the printed digits by more than one unit. Zero error gives
    ``max_digits``."""
    if not mcse > 0:
        return max_digits
    return int(min(max_digits, max(0, math.floor(-math.log10(2 * mcse)))))


def fmt_mcmc(value: float, mcse: float, max_digits: int = 2) -> str:
    """``value`` with no more decimals than its Monte Carlo standard error allows
    (:func:`mcmc_digits`)."""
    return f"{value:.{mcmc_digits(mcse, max_digits)}f}"


def fmt_mcmc_or(median: float, low: float, high: float, errors: dict) -> str:
    """An MCMC odds ratio with its interval, "m (low to high)", each figure with no more decimals
    than its own Monte Carlo standard error allows (``errors``: ``or_median``, ``or_low``,
    ``or_high``, as from :func:`nkreport.analysis.comparative.log_or_mcse`): a tail limit is
    often printed with fewer decimals than the median."""
    return (
        f"{fmt_mcmc(median, errors['or_median'])} "
        f"({fmt_mcmc(low, errors['or_low'])} to {fmt_mcmc(high, errors['or_high'])})"
    )


def glue(key: str, value: Any, text: str | None = None, *, display: bool = False) -> GluedValue:
    """Glue ``value`` under ``key``; ``text`` is what prose shows (default ``str(value)``), with
    the book's typography (:func:`typeset`), so ``results.json`` holds the very text the
    reader sees."""
    from myst_nb import glue as nb_glue

    glued = GluedValue(key, value, typeset(str(value) if text is None else text))
    nb_glue(key, glued, display=display)
    return glued


def collect(glue_files: dict[str, Path]) -> dict[str, dict]:
    """Read myst-nb's ``*.glue.json`` files (chapter → path) into {key: {value, text, chapter}}."""
    results: dict[str, dict] = {}
    for chapter, path in sorted(glue_files.items()):
        if not path.exists():
            continue
        for key, output in json.loads(path.read_text(encoding="utf-8")).items():
            data = output.get("data", {})
            if RESULT_MIME not in data:
                continue
            payload = json.loads(data[RESULT_MIME])
            results[key] = {"value": payload["value"], "text": payload["text"], "chapter": chapter}
    return results


def read_glued(keys=None, folder: str | Path | None = None) -> dict[str, dict]:
    """Values glued by the chapters of this build so far, read from ``jupyter_execute/**/*.glue.json``.

    Returns {key: {value, text, chapter}}. With ``keys``, returns exactly those keys and raises
    ``KeyError`` naming any that no chapter has glued (so a chapter that depends on another
    fails loudly instead of showing a stale or missing number).
    """
    execute_dir = Path(folder) if folder is not None else paths.build_dir() / "jupyter_execute"
    glue_files = {
        p.relative_to(execute_dir).as_posix()[: -len(".glue.json")]: p for p in sorted(execute_dir.rglob("*.glue.json"))
    }
    found = collect(glue_files)
    if keys is None:
        return found
    keys = list(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        raise KeyError(f"no chapter of the build in {execute_dir} glued {missing}")
    return {k: found[k] for k in keys}


def glue_mcmc_or(key: str, summary: dict, errors: dict) -> None:
    """Glue an MCMC odds-ratio summary (``summary`` from
    :func:`nkreport.analysis.comparative.summarise_log_or`, ``errors`` from
    :func:`~nkreport.analysis.comparative.log_or_mcse`) under ``<key>_or``, ``<key>_ci``,
    ``<key>_ci_mcse``, ``<key>_p1`` and ``<key>_phalf``: the OR, each interval limit and each
    probability with no more digits than its own Monte Carlo error allows."""
    glue(f"{key}_or", summary["or_median"], fmt_mcmc(summary["or_median"], errors["or_median"]))
    glue(
        f"{key}_ci",
        [summary["or_low"], summary["or_high"]],
        f"{fmt_mcmc(summary['or_low'], errors['or_low'])} to {fmt_mcmc(summary['or_high'], errors['or_high'])}",
    )
    glue(f"{key}_ci_mcse", [errors["or_low"], errors["or_high"]], f"{errors['or_low']:.3f} and {errors['or_high']:.3f}")
    glue(f"{key}_p1", summary["p_or_below_1"], fmt_mcmc(summary["p_or_below_1"], errors["p_or_below_1"]))
    glue(f"{key}_phalf", summary["p_or_below_half"], fmt_mcmc(summary["p_or_below_half"], errors["p_or_below_half"]))
