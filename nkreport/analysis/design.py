"""Single-arm designs for a failure endpoint (BSI), predictive probability and conditional power.

BSI is a failure: lower is better. The null hypothesis is an uninteresting BSI rate ``p0``
(for example a historical rate) and the alternative a lower target rate ``p1 < p0``. Counting
*responses* as patients without BSI, the response rates are ``1 - p0`` and ``1 - p1`` and the
classical designs for responses apply unchanged: a design declares success when the number of
patients without BSI exceeds ``r`` of ``n`` (equivalently, BSIs ≤ ``n - r - 1``).

The searches are exact (binomial probabilities, no simulation) over total sizes up to
``n_max`` and vectorised with numpy over (n1, r1, r) for each n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class SingleStageDesign:
    n: int
    r: int  # success if responses > r
    alpha: float  # attained type I error
    power: float  # attained power

    @property
    def max_failures(self) -> int:
        """Largest number of failures (BSIs) still declared a success."""
        return self.n - self.r - 1


@dataclass(frozen=True)
class SimonDesign:
    r1: int  # stop after stage 1 if responses ≤ r1
    n1: int
    r: int  # success at the end if responses > r
    n: int
    alpha: float
    power: float
    en0: float  # expected sample size under H0
    pet0: float  # probability of early termination under H0

    @property
    def max_failures(self) -> int:
        return self.n - self.r - 1

    @property
    def max_failures_stage1(self) -> int:
        """Largest number of failures in stage 1 that still lets the trial continue."""
        return self.n1 - self.r1 - 1


# --------------------------------------------------------------------------- the reconstruction (chapter 5)
#: "About the planned size": designs whose maximum size is within this many patients of the plan.
SIZE_TOLERANCE = 3
#: Target BSI rates under NK cells that a design may have been powered for (5 % to 35 %).
TARGET_BSI_RATES = np.round(np.arange(0.05, 0.36, 0.05), 2)
#: One-sided type I error rates and powers of the designs searched.
ALPHAS = (0.05, 0.10)
POWERS = (0.80, 0.90)
#: Beta prior of the BSI risk for the predictive probability of final success (uniform).
PREDICTIVE_PRIOR = (1.0, 1.0)
#: Largest maximum size searched.
N_MAX = 60


#: Futility threshold of predictive-probability monitoring the book applies to the
#: reconstructed designs: stop when the predictive probability of success falls below it.
FUTILITY_THRESHOLD = 0.10


def single_stage_design(q0: float, q1: float, alpha: float, beta: float, n_max: int = 60) -> SingleStageDesign | None:
    """Smallest exact single-stage design with P(X > r | q0) ≤ alpha and P(X > r | q1) ≥ 1 - beta.

    ``q0 < q1`` are response rates. For each n the critical value is the smallest r meeting
    the type I error; returns None if no n ≤ n_max works.
    """
    return _single_stage(_binomial_tables(q0, n_max)[1], _binomial_tables(q1, n_max)[1], alpha, beta, n_max)


def _single_stage(sf0: np.ndarray, sf1: np.ndarray, alpha: float, beta: float, n_max: int) -> SingleStageDesign | None:
    """:func:`single_stage_design` from the survival tables of :func:`_binomial_tables`."""
    for n in range(1, n_max + 1):
        type1 = sf0[n, 1 : n + 2]  # P(X > r | q0) for r = 0..n
        meets = type1 <= alpha
        if not meets.any():
            continue
        r = int(np.argmax(meets))
        power = sf1[n, r + 1]
        if power >= 1 - beta:
            return SingleStageDesign(n=n, r=r, alpha=float(type1[r]), power=float(power))
    return None


def _binomial_tables(q: float, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """pmf[m, x] = P(Bin(m, q) = x) and sf[m, k + 1] = P(Bin(m, q) > k) for k = -1..n_max."""
    m = np.arange(n_max + 1)[:, None]
    k = np.arange(-1, n_max + 1)[None, :]
    return stats.binom.pmf(k[:, 1:], m, q), stats.binom.sf(k, m, q)


def _two_stage_grid(n: int, pmf: np.ndarray, sf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reject probability R[n1-1, r1, r] and stopping probability PET[n1-1, r1] for total n.

    R = sum over x1 > r1 of b(x1; n1, q) · P(X2 > r - x1; n - n1, q), computed for every
    1 ≤ n1 < n, 0 ≤ r1 < n and 0 ≤ r < n at once from the binomial tables of ``q``
    (entries with r1 ≥ n1 are unused).
    """
    n1 = np.arange(1, n)
    x1 = np.arange(n)
    r = np.arange(n)
    pmf1 = pmf[n1[:, None], x1[None, :]][:, None, :]  # (N1, 1, X); zero for x1 > n1
    k = np.clip(r[None, :, None] - x1[None, None, :], -1, sf.shape[1] - 2)  # (1, R, X)
    stage2 = sf[(n - n1)[:, None, None], k + 1]  # (N1, R, X): P(X2 > r - x1)
    contrib = pmf1 * stage2
    # tail[..., j] = sum over x1 ≥ j  →  the sum over x1 > r1 is tail[..., r1 + 1]
    tail = np.cumsum(contrib[..., ::-1], axis=-1)[..., ::-1]
    tail = np.concatenate([tail[..., 1:], np.zeros(tail.shape[:-1] + (1,))], axis=-1)
    reject = np.transpose(tail, (0, 2, 1))  # (N1, r1, r)
    pet = 1.0 - sf[n1[:, None], r[None, :] + 1]  # (N1, r1): P(X1 ≤ r1)
    return reject, pet


def simon_candidates(q0: float, q1: float, alpha: float, beta: float, n_max: int = 60) -> pd.DataFrame:
    """For each total n ≤ n_max, the feasible two-stage design with the smallest EN under H0.

    Columns r1, n1, r, n, alpha, power, en0, pet0. Feasible: type I error ≤ alpha and power
    ≥ 1 - beta, with 0 ≤ r1 < n1 < n and r1 ≤ r < n.
    """
    return _simon_search([(q0, q1)], [(alpha, beta)], n_max)[(q0, q1)][(alpha, beta)]


def _simon_search(rate_pairs, targets, n_max: int, tables=None) -> dict:
    """The search behind :func:`simon_candidates` for many (q0, q1) pairs and (alpha, beta)
    targets. For each n the two-stage grid of every distinct response rate is computed once
    and shared by all pairs using it. Returns {(q0, q1): {(alpha, beta): candidates}}."""
    rate_pairs = [(float(q0), float(q1)) for q0, q1 in rate_pairs]
    targets = [(float(a), float(b)) for a, b in targets]
    rates = sorted({q for pair in rate_pairs for q in pair})
    tables = tables or {q: _binomial_tables(q, n_max) for q in rates}
    rows: dict = {pair: {target: [] for target in targets} for pair in rate_pairs}
    for n in range(2, n_max + 1):
        grids = {q: _two_stage_grid(n, *tables[q]) for q in rates}
        n1 = np.arange(1, n)[:, None, None]
        r1 = np.arange(n)[None, :, None]
        r = np.arange(n)[None, None, :]
        valid = (r1 < n1) & (r >= r1)
        for q0, q1 in rate_pairs:
            (reject0, pet0), (reject1, _) = grids[q0], grids[q1]
            en0 = n1[..., 0] + (1 - pet0) * (n - n1[..., 0])  # (N1, r1)
            en0_full = np.broadcast_to(en0[..., None], valid.shape)
            for alpha, beta in targets:
                feasible = valid & (reject0 <= alpha) & (reject1 >= 1 - beta)
                if not feasible.any():
                    continue
                score = np.where(feasible, en0_full, np.inf)
                i, j, k = np.unravel_index(np.argmin(score), score.shape)
                rows[(q0, q1)][(alpha, beta)].append(
                    {
                        "r1": int(j),
                        "n1": int(i + 1),
                        "r": int(k),
                        "n": n,
                        "alpha": float(reject0[i, j, k]),
                        "power": float(reject1[i, j, k]),
                        "en0": float(en0[i, j]),
                        "pet0": float(pet0[i, j]),
                    }
                )
    columns = ["r1", "n1", "r", "n", "alpha", "power", "en0", "pet0"]
    return {
        pair: {target: pd.DataFrame(found, columns=columns) for target, found in by_target.items()}
        for pair, by_target in rows.items()
    }


def simon_designs(q0: float, q1: float, alpha: float, beta: float, n_max: int = 60) -> dict[str, SimonDesign | None]:
    """Simon's (1989) optimal (min EN under H0) and minimax (min n, then min EN) designs."""
    return _optimal_and_minimax(simon_candidates(q0, q1, alpha, beta, n_max))


def _optimal_and_minimax(candidates: pd.DataFrame) -> dict[str, SimonDesign | None]:
    if candidates.empty:
        return {"optimal": None, "minimax": None}
    optimal = candidates.loc[candidates["en0"].idxmin()]
    minimax = candidates.loc[candidates["n"].idxmin()]

    def as_design(row):
        return SimonDesign(
            **{
                k: (int(row[k]) if k in ("r1", "n1", "r", "n") else float(row[k]))
                for k in ("r1", "n1", "r", "n", "alpha", "power", "en0", "pet0")
            }
        )

    return {"optimal": as_design(optimal), "minimax": as_design(minimax)}


def simon_reject_probability(r1: int, n1: int, r: int, n: int, q: float) -> float:
    """P(continue after stage 1 and responses > r at the end) for one design (Simon 1989, eq. 1)."""
    x1 = np.arange(r1 + 1, n1 + 1)
    return float(np.sum(stats.binom.pmf(x1, n1, q) * stats.binom.sf(r - x1, n - n1, q)))


# --- failure-endpoint wrappers -------------------------------------------------------------


def failure_designs(p0: float, p1: float, alpha: float, beta: float, n_max: int = 60) -> pd.DataFrame:
    """Single-stage, Simon optimal and Simon minimax designs for BSI rates p0 (null) > p1 (target).

    One row per design type with its rule in BSIs: success if BSIs ≤ ``max_bsi`` of ``n``;
    for two-stage designs the trial continues after ``n1`` only if BSIs ≤ ``max_bsi_stage1``.
    """
    return _failure_designs_grid([(p0, p1)], [(alpha, beta)], n_max)[0]


def _failure_designs_grid(rate_pairs, targets, n_max: int) -> list[pd.DataFrame]:
    """One frame per (p0, p1) pair and (alpha, beta) target, pairs outermost, each in order."""
    for p0, p1 in rate_pairs:
        if not p1 < p0:
            raise ValueError("for a failure endpoint the target rate p1 must be below the null rate p0")
    targets = [(float(a), float(b)) for a, b in targets]
    response_pairs = [(1 - p0, 1 - p1) for p0, p1 in rate_pairs]
    tables = {q: _binomial_tables(q, n_max) for q in sorted({q for pair in response_pairs for q in pair})}
    candidates = _simon_search(response_pairs, targets, n_max, tables)
    frames = []
    for (p0, p1), (q0, q1) in zip(rate_pairs, response_pairs, strict=False):
        for alpha, beta in targets:
            rows = []
            single = _single_stage(tables[q0][1], tables[q1][1], alpha, beta, n_max)
            if single is not None:
                rows.append(
                    {
                        "design": "single-stage",
                        "n1": np.nan,
                        "max_bsi_stage1": np.nan,
                        "n": single.n,
                        "max_bsi": single.max_failures,
                        "alpha": single.alpha,
                        "power": single.power,
                        "en0": float(single.n),
                    }
                )
            for kind, simon in _optimal_and_minimax(candidates[(q0, q1)][(alpha, beta)]).items():
                if simon is None:
                    continue
                rows.append(
                    {
                        "design": f"Simon {kind}",
                        "n1": simon.n1,
                        "max_bsi_stage1": simon.max_failures_stage1,
                        "n": simon.n,
                        "max_bsi": simon.max_failures,
                        "alpha": simon.alpha,
                        "power": simon.power,
                        "en0": simon.en0,
                    }
                )
            frame = pd.DataFrame(
                rows, columns=["design", "n1", "max_bsi_stage1", "n", "max_bsi", "alpha", "power", "en0"]
            )
            frame.insert(0, "p0", p0)
            frame.insert(1, "p1", p1)
            frame.insert(2, "alpha_target", alpha)
            frame.insert(3, "power_target", 1 - beta)
            frames.append(frame.astype({"n1": "Int64", "max_bsi_stage1": "Int64"}))
    return frames


def design_space(null_rates, target_rates, alphas=(0.05, 0.10), powers=(0.80, 0.90), n_max: int = 60) -> pd.DataFrame:
    """``failure_designs`` over a grid of null rates, target rates, alphas and powers (the
    two-stage grid of each response rate and size is computed once for the whole grid)."""
    targets = [(a, 1 - pw) for a in alphas for pw in powers]
    rate_pairs = [(p0, p1) for p0 in null_rates for p1 in target_rates if p1 < p0]
    frames = [frame for frame in _failure_designs_grid(rate_pairs, targets, n_max) if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --- interim: predictive probability and conditional power ---------------------------------


def predictive_probability(
    failures: int, n_interim: int, n_final: int, max_failures: int, prior_a: float = 1.0, prior_b: float = 1.0
) -> float:
    """Bayesian predictive probability that total failures at ``n_final`` are ≤ ``max_failures``.

    The failure rate has a Beta(prior_a, prior_b) prior; after ``failures`` of ``n_interim``
    the future failures among the remaining patients are beta-binomial.
    """
    remaining = n_final - n_interim
    allowed = max_failures - failures
    if allowed < 0:
        return 0.0
    future = stats.betabinom(remaining, prior_a + failures, prior_b + n_interim - failures)
    return float(future.cdf(allowed))


def predictive_probability_two_stage(
    failures: int,
    n_interim: int,
    n1: int,
    max_failures_stage1: int,
    n_final: int,
    max_failures: int,
    prior_a: float = 1.0,
    prior_b: float = 1.0,
) -> float:
    """Predictive probability of final success for a two-stage rule seen at an interim before n1.

    Success needs failures ≤ ``max_failures_stage1`` at ``n1`` *and* ≤ ``max_failures`` at
    ``n_final``. If the interim is at or after n1 only the final rule applies (the stage-1
    rule is then assumed passed).
    """
    if n_interim >= n1:
        return predictive_probability(failures, n_interim, n_final, max_failures, prior_a, prior_b)
    a, b = prior_a + failures, prior_b + n_interim - failures
    to_stage1 = n1 - n_interim
    y1 = np.arange(0, max(max_failures_stage1 - failures, -1) + 1)
    if y1.size == 0:
        return 0.0
    p_y1 = stats.betabinom.pmf(y1, to_stage1, a, b)
    allowed = max_failures - failures - y1
    p_rest = np.where(allowed >= 0, stats.betabinom.cdf(allowed, n_final - n1, a + y1, b + to_stage1 - y1), 0.0)
    return float(np.sum(p_y1 * p_rest))


def conditional_power(failures: int, n_interim: int, n_final: int, max_failures: int, failure_rate: float) -> float:
    """Probability of total failures ≤ ``max_failures`` at ``n_final`` if the rate is ``failure_rate``."""
    allowed = max_failures - failures
    if allowed < 0:
        return 0.0
    return float(stats.binom.cdf(allowed, n_final - n_interim, failure_rate))


def predictive_curve(
    n_interim: int, n_final: int, max_failures: int, prior_a: float = 1.0, prior_b: float = 1.0
) -> pd.DataFrame:
    """Predictive probability of success for every possible failure count at the interim."""
    counts = np.arange(n_interim + 1)
    return pd.DataFrame(
        {
            "failures": counts,
            "predictive_probability": [
                predictive_probability(int(k), n_interim, n_final, max_failures, prior_a, prior_b) for k in counts
            ],
        }
    )


def stage1_status(failures: int, n_interim: int, n1: int, max_failures_stage1: int) -> str:
    """What ``failures`` of ``n_interim`` tells about a stage-1 rule (≤ max failures in the first n1).

    'passed' if it must have passed, 'failed' if it must have failed, 'unknown' if the order of
    events matters, 'pending' if n1 lies beyond the interim and the stage can still be passed.
    Before n1 every failure so far is a stage-1 failure, so a count above the stage-1 limit has
    already lost the stage, however many patients remain in it.
    """
    if n1 > n_interim:
        return "failed" if failures > max_failures_stage1 else "pending"
    least_in_stage1 = max(0, failures - (n_interim - n1))
    most_in_stage1 = min(failures, n1)
    if most_in_stage1 <= max_failures_stage1:
        return "passed"
    if least_in_stage1 > max_failures_stage1:
        return "failed"
    return "unknown"


def interim_assessment(
    designs: pd.DataFrame, failures: int, n_interim: int, prior_a: float = 1.0, prior_b: float = 1.0
) -> pd.DataFrame:
    """For each design row, the state at an interim of ``failures`` of ``n_interim``.

    Adds ``stage1`` (see :func:`stage1_status`), ``final_reachable`` (failures so far do not
    already exceed the final limit), the predictive probability of final success under a
    Beta(prior_a, prior_b) prior (two-stage rules still ahead are included; a passed or unknown
    stage 1 is treated as passed), and the conditional power at the target rate p1 and at the
    observed rate.
    """
    out = designs.copy()
    observed = failures / n_interim
    stage1, predictive, cp_target, cp_observed = [], [], [], []
    for row in designs.itertuples():
        two_stage = not pd.isna(row.n1)
        status = stage1_status(failures, n_interim, int(row.n1), int(row.max_bsi_stage1)) if two_stage else "none"
        stage1.append(status)
        if status == "failed":
            predictive.append(0.0), cp_target.append(0.0), cp_observed.append(0.0)
            continue
        if status == "pending":
            predictive.append(
                predictive_probability_two_stage(
                    failures,
                    n_interim,
                    int(row.n1),
                    int(row.max_bsi_stage1),
                    int(row.n),
                    int(row.max_bsi),
                    prior_a,
                    prior_b,
                )
            )
        else:
            predictive.append(
                predictive_probability(failures, n_interim, int(row.n), int(row.max_bsi), prior_a, prior_b)
            )
        cp_target.append(conditional_power(failures, n_interim, int(row.n), int(row.max_bsi), row.p1))
        cp_observed.append(conditional_power(failures, n_interim, int(row.n), int(row.max_bsi), observed))
    out["stage1"] = stage1
    out["final_reachable"] = failures <= designs["max_bsi"].to_numpy()
    out["predictive_probability"] = predictive
    out["conditional_power_target"] = cp_target
    out["conditional_power_observed"] = cp_observed
    return out


def near_size(space: pd.DataFrame, planned_n: int, tolerance: int) -> pd.DataFrame:
    """Designs whose maximum size is within ``tolerance`` of ``planned_n``."""
    return space[(space["n"] - planned_n).abs() <= tolerance].reset_index(drop=True)


def rule_curves(designs: pd.DataFrame, n_interim: int, prior_a: float = 1.0, prior_b: float = 1.0) -> pd.DataFrame:
    """Predictive-probability curves (``predictive_curve``) for each distinct final rule (n, max BSIs).

    Stage-1 rules are left out: the curve shows the final rule alone.
    """
    rules = designs[["n", "max_bsi"]].drop_duplicates().sort_values(["max_bsi", "n"])
    frames = []
    for n_final, max_bsi in rules.itertuples(index=False):
        curve = predictive_curve(n_interim, int(n_final), int(max_bsi), prior_a, prior_b)
        curve.insert(0, "rule", f"success if ≤ {int(max_bsi)} BSIs of {int(n_final)}")
        frames.append(curve)
    return pd.concat(frames, ignore_index=True)


def highest_count_with_predictive(curve: pd.DataFrame, threshold: float) -> int | None:
    """Largest failure count at the interim whose predictive probability is still ≥ threshold."""
    above = curve[curve["predictive_probability"] >= threshold]
    return None if above.empty else int(above["failures"].max())
