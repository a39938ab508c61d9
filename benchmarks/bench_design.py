"""Time the full exact design search over total sizes n ≤ 60 and print the figure.

One search = the single-stage design and Simon's optimal and minimax designs for one setting
(every n ≤ 60, every n1 < n, r1 and r, under both hypotheses). The figure is the median of
repeated runs; the target is under 2 s on a 2-core machine.

    python benchmarks/bench_design.py [--repeats 7] [--n-max 60]
"""

from __future__ import annotations

import argparse
import statistics
import time

from nkreport.analysis import design

#: A representative failure-endpoint setting: BSI 35 % (null) against 15 % (target).
SETTING = {"p0": 0.35, "p1": 0.15, "alpha": 0.05, "beta": 0.20}


def time_search(n_max: int, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        design.failure_designs(SETTING["p0"], SETTING["p1"], SETTING["alpha"], SETTING["beta"], n_max=n_max)
        timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n-max", type=int, default=60)
    args = parser.parse_args()
    time_search(args.n_max, 1)  # warm-up (imports, caches)
    timings = time_search(args.n_max, args.repeats)
    median = statistics.median(timings)
    print(
        f"design search, n <= {args.n_max}, {args.repeats} runs: median {median:.3f} s "
        f"(min {min(timings):.3f} s, max {max(timings):.3f} s); target < 2 s: "
        f"{'met' if median < 2 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
