r"""Certainty of the evidence, GRADE style: the domains a summary-of-findings table rates.

GRADE (Guyatt et al. 2008, BMJ 336:924) starts the evidence of an outcome
at *high* certainty when it comes from randomised trials and at *low* when it comes from
observational comparisons or single-arm studies against external controls, and moves it down
one level for each *serious* concern (two for *very serious*) in five domains: risk of bias,
inconsistency, indirectness, imprecision and publication bias. The levels are high, moderate,
low and very low; the rating never falls below very low.

Two domains can be computed from the book's numbers and are computed here:

* **imprecision**, from where the interval of the relative effect lies against the decision
  thresholds: *not serious* if it excludes no effect, *serious* if it includes no effect but not
  both an important benefit and an appreciable harm, *very serious* if it includes both
  (:data:`IMPORTANT_BENEFIT_OR` and its reciprocal :data:`APPRECIABLE_HARM_OR`, the conventional
  25-30 % relative thresholds);
* **inconsistency**, from a conflict check between sources (a prior-predictive or Box p-value):
  *serious* when it is below :data:`CONFLICT_P`.

The others are judgements, passed in with their reasons and printed with them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Certainty levels, best first.
LEVELS = ("high", "moderate", "low", "very low")
#: Where evidence without a randomised comparison starts.
NON_RANDOMISED_START = "low"
#: Levels lost for a concern of each size.
DOWNGRADE = {"not serious": 0, "serious": 1, "very serious": 2}
#: Domains of a rating, in the order a summary-of-findings table gives them.
DOMAINS = ("risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias")
#: An odds ratio below this is an important benefit (the next trial's clinically important effect) ...
IMPORTANT_BENEFIT_OR = 0.7
#: ... and one above its reciprocal an appreciable harm.
APPRECIABLE_HARM_OR = 1 / IMPORTANT_BENEFIT_OR
#: An outcome seen in fewer patients than this (or with no event) is very seriously imprecise.
MIN_PATIENTS = 30
#: A conflict p-value below this makes inconsistency serious.
CONFLICT_P = 0.05


@dataclass(frozen=True)
class Judgement:
    """One domain: the size of the concern and the reason for it."""

    domain: str
    concern: str  # not serious | serious | very serious
    reason: str

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"unknown domain {self.domain!r}; expected one of {DOMAINS}")
        if self.concern not in DOWNGRADE:
            raise ValueError(f"unknown concern {self.concern!r}; expected one of {tuple(DOWNGRADE)}")


def imprecision(or_low: float, or_high: float, interval_text: str | None = None) -> Judgement:
    """Imprecision from the interval of an odds ratio (see the module docstring). The reason
    quotes the interval as ``interval_text`` (e.g. printed to the digits its Monte Carlo error
    allows), by default to two decimals."""
    if not or_low <= or_high:
        raise ValueError(f"interval ({or_low}, {or_high}) is not ordered")
    shown = interval_text or f"{or_low:.2f} to {or_high:.2f}"
    if or_high < 1 or or_low > 1:
        return Judgement("imprecision", "not serious", f"the interval {shown} excludes no effect")
    if or_low < IMPORTANT_BENEFIT_OR and or_high > APPRECIABLE_HARM_OR:
        return Judgement(
            "imprecision",
            "very serious",
            f"the interval {shown} includes an important benefit (OR < "
            f"{IMPORTANT_BENEFIT_OR:g}) and an appreciable harm (OR > {APPRECIABLE_HARM_OR:.2f})",
        )
    return Judgement("imprecision", "serious", f"the interval {shown} includes no effect")


def imprecision_of_a_rate(events: int, n: int, upper: float | None = None) -> Judgement:
    """Imprecision of an outcome with no relative effect (one small arm): very serious below
    :data:`MIN_PATIENTS` patients or with no event (the optimal information size of any
    comparison is not reached)."""
    detail = f"{events} events in {n} patients" + ("" if upper is None else f"; upper 95 % bound {100 * upper:.1f} %")
    if n < MIN_PATIENTS or events == 0:
        return Judgement("imprecision", "very serious", detail)
    return Judgement("imprecision", "serious", detail)


def inconsistency(conflict_p: float, what: str) -> Judgement:
    """Inconsistency from a conflict check's p-value (small: the sources disagree)."""
    concern = "serious" if conflict_p < CONFLICT_P else "not serious"
    return Judgement("inconsistency", concern, f"{what}: p = {conflict_p:.2f}")


def rate(start: str, judgements: list[Judgement]) -> str:
    """The certainty after the downgrades: ``start`` moved down one level per serious concern
    and two per very serious one, never below very low."""
    if start not in LEVELS:
        raise ValueError(f"unknown start {start!r}; expected one of {LEVELS}")
    domains = [j.domain for j in judgements]
    if len(set(domains)) != len(domains):
        raise ValueError(f"a domain is rated twice: {domains}")
    steps = sum(DOWNGRADE[j.concern] for j in judgements)
    return LEVELS[min(LEVELS.index(start) + steps, len(LEVELS) - 1)]


def reasons(judgements: list[Judgement]) -> str:
    """The downgrading domains and their reasons, as one line of a table."""
    parts = [f"{j.domain}: {j.concern} ({j.reason})" for j in judgements if j.concern != "not serious"]
    return "; ".join(parts) if parts else "no serious concern"
