"""Model benchmarks: compile and sampling time, effective sample size per second and
divergences of every PyMC model the package samples, PyMC's default NUTS against nutpie, the
deterministic (quadrature) cross-checks, the exact design search, and the MAP model's scaling
over 10, 100 and 1000 generated earlier treated arms.

Every figure is the median over ``--repeat`` runs. The models are fitted through the package's
own functions with the package's own sampling settings (read from the modules at run time), with
the store of fits turned off (``NKREPORT_FIT_CACHE=off``), so every run samples. Run from the
repository root:

    python benchmarks/model_bench.py --repeat 3      # writes benchmarks/results/map_model.json
    python benchmarks/model_bench.py --quick         # a short smoke run, printed only

The nutpie comparison needs nutpie, which is a benchmark-only extra (the book samples with
PyMC's default NUTS sampler): ``pip install nutpie``. Without it, the comparison is recorded as
not run, with the reason.

The generated cohorts of the scaling run exist only in memory; nothing is written to data/.
Before each heavy measurement the script waits (up to 15 minutes) until no book build, CI run or
test session is running on the machine, and records when it had to measure on a busy machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
os.environ["NKREPORT_FIT_CACHE"] = "off"  # every fit samples; nothing is read from or written to a store

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_design
import numpy as np
import pymc as pm
from build_bench import machine
from scipy.special import expit, logit

from nkreport import SEED, data
from nkreport.analysis import comparative, map_model, mcmc, sensitivity

#: Processes that mean the machine is busy (book builds, CI, tests).
BUSY_PATTERN = r"jupyter-book|\.ci/run|pytest"
BUSY_POLL_S = 20
BUSY_MAX_WAIT_S = 15 * 60  # in total over one benchmark run; afterwards it measures and records "busy"
SCALING_COHORTS = (10, 100, 1000)
QUICK_SCALING_COHORTS = (10, 100)
#: Sampling override of --quick (a smoke run; its ESS figures are not the package's).
QUICK_SAMPLING = {"draws": 500, "tune": 500}


# --------------------------------------------------------------------------- helpers


#: Set by --no-wait: record the machine's state but do not wait for it to become idle.
NO_WAIT = False
_waited_total = 0.0


def busy_processes() -> list[str]:
    found = subprocess.run(["pgrep", "-f", BUSY_PATTERN], capture_output=True, text=True, check=False).stdout.split()
    return [pid for pid in found if int(pid) != os.getpid()]


def mark_end(log: list) -> None:
    """Record whether a build, CI or test process was running when the last measurement ended."""
    if log:
        log[-1]["machine_busy_at_end"] = bool(busy_processes())


def wait_until_idle(label: str, log: list) -> None:
    """Poll until no build, CI or test process runs (BUSY_MAX_WAIT_S at most over the whole
    benchmark); log the outcome."""
    global _waited_total
    start = time.perf_counter()
    while True:
        found = busy_processes()
        waited = time.perf_counter() - start
        if not found or _waited_total + waited >= BUSY_MAX_WAIT_S or NO_WAIT:
            break
        print(f"  [{label}] machine busy ({len(found)} build/CI/test processes), waiting ...", flush=True)
        time.sleep(BUSY_POLL_S)
    _waited_total += waited
    entry = {
        "measurement": label,
        "waited_s": round(waited, 1),
        "machine_busy_at_start": bool(found),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if found:
        print(f"  [{label}] still busy after {waited:.0f} s: measuring anyway (recorded as machine busy)", flush=True)
    log.append(entry)


def med(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 4) if values else None


@contextlib.contextmanager
def recorded_sampling():
    """Record every ``pm.sample`` call made inside (model, arguments, wall time, result), so the
    package's own functions are timed with their own settings and their models can be handed
    to nutpie unchanged."""
    calls: list[dict] = []
    original = pm.sample

    def sample(*args, **kwargs):
        model = pm.modelcontext(kwargs.get("model"))
        start = time.perf_counter()
        idata = original(*args, **kwargs)
        calls.append({"model": model, "kwargs": dict(kwargs), "wall_s": time.perf_counter() - start, "idata": idata})
        return idata

    pm.sample = sample
    try:
        yield calls
    finally:
        pm.sample = original


def diagnostics(idata, var_names, sampling_s: float) -> dict:
    report = mcmc.gate_report(idata, "benchmark", var_names)
    return {
        "min_ess_bulk": round(report.min_ess_bulk, 1),
        "min_ess_tail": round(report.min_ess_tail, 1),
        "max_rhat": round(report.max_rhat, 4),
        "divergences": report.divergences,
        "min_ess_bulk_per_s": round(report.min_ess_bulk / sampling_s, 1),
        "passes_gate": bool(
            report.max_rhat <= mcmc.RHAT_MAX
            and report.min_ess_bulk >= mcmc.ESS_MIN
            and report.min_ess_tail >= mcmc.ESS_MIN
            and report.divergences == 0
        ),
    }


def same_draws(first, second, var_names) -> bool:
    return all(
        np.array_equal(np.asarray(first.posterior[name]), np.asarray(second.posterior[name])) for name in var_names
    )


# --------------------------------------------------------------------------- the package's models


def model_drivers(quick: bool) -> dict:
    """name -> (description, call, gated variables). Each call fits through the package's entry
    point, exactly as the book does (with ``--quick``: fewer draws)."""
    cohorts = data.load_cohorts()
    evidence = comparative.build_evidence()
    settings = sensitivity.book_settings(evidence)
    map_studies = map_model.earlier_studies(cohorts, "bsi")
    overrides = QUICK_SAMPLING if quick else {}

    def map_bsi():
        map_model.clear_cache()
        map_model.fit_map(map_studies, "map_bsi_earlier_treated", sampling=overrides or None)

    def comparative_batch():
        comparative.fit_settings(evidence, settings, **overrides)

    def normal_normal():
        comparative.cross_check(evidence, **overrides)

    return {
        "map_bsi": (
            f"MAP model (map_model.fit_map), BSI, {len(map_studies)} earlier treated arms",
            map_bsi,
            map_model.GATED_VARS,
        ),
        "comparative_batch": (
            (
                f"comparative model (comparative.fit_settings), the book's batch of "
                f"{len(settings)} settings, {len(evidence.arms)} arms"
            ),
            comparative_batch,
            comparative.FREE_VARS,
        ),
        "normal_normal": ("normal-normal cross-check model (comparative.cross_check)", normal_normal, None),
    }


def bench_pymc(call, var_names, repeat: int) -> tuple[dict, list[dict]]:
    """The package's own fit, ``repeat`` times: compile (wall of pm.sample minus PyMC's own
    sampling time), sampling (tuning + draws), end-to-end (with gate and cross-checks)."""
    runs, records = [], []
    for _ in range(repeat):
        with recorded_sampling() as calls:
            start = time.perf_counter()
            error = None
            try:
                call()
            except mcmc.ConvergenceError as failure:
                error = str(failure)
            end_to_end = time.perf_counter() - start
        record = calls[-1]
        sampling_s = float(record["idata"].sample_stats.attrs["sampling_time"])
        runs.append(
            {
                "compile_s": round(record["wall_s"] - sampling_s, 3),
                "sampling_s": round(sampling_s, 3),
                "end_to_end_s": round(end_to_end, 3),
                **diagnostics(record["idata"], var_names, sampling_s),
                "gate_error": error,
            }
        )
        records.append(record)
    first = records[0]
    settings = {
        k: v
        for k, v in first["kwargs"].items()
        if k in ("draws", "tune", "chains", "cores", "target_accept", "random_seed", "compile_kwargs")
    }
    summary = summarise(runs)
    summary["settings"] = {k: (str(v) if k == "compile_kwargs" else v) for k, v in settings.items()}
    summary["first_run_compile_s"] = runs[0]["compile_s"]
    summary["reproducible_for_fixed_seed"] = (
        all(same_draws(first["idata"], r["idata"], list(first["idata"].posterior.data_vars)) for r in records[1:])
        if repeat > 1
        else None
    )
    summary["runs"] = runs
    return summary, records


def summarise(runs: list[dict]) -> dict:
    keys = [
        "compile_s",
        "sampling_s",
        "end_to_end_s",
        "min_ess_bulk",
        "min_ess_tail",
        "max_rhat",
        "divergences",
        "min_ess_bulk_per_s",
    ]
    summary = {key: med([run.get(key) for run in runs]) for key in keys}
    summary["passes_gate_every_run"] = all(run["passes_gate"] for run in runs)
    summary["gate_errors"] = sorted({run["gate_error"] for run in runs if run.get("gate_error")})
    return summary


def bench_nutpie(record: dict, var_names, repeat: int) -> dict:
    """The same model object and settings with nutpie (numba backend): compile, sample, and
    whether two runs with the same seed give identical draws."""
    try:
        import nutpie
    except ImportError as missing:
        return {"status": "not run", "reason": f"nutpie is not installed ({missing}); pip install nutpie"}
    kwargs = record["kwargs"]
    seed = kwargs.get("random_seed")
    settings = {
        "draws": kwargs["draws"],
        "tune": kwargs["tune"],
        "chains": kwargs["chains"],
        "cores": kwargs.get("cores", kwargs["chains"]),
        "seed": seed,
        "target_accept": kwargs["target_accept"],
    }
    runs, traces = [], []
    try:
        for _ in range(max(repeat, 2)):  # at least two runs: the reproducibility check
            start = time.perf_counter()
            compiled = nutpie.compile_pymc_model(record["model"])
            compile_s = time.perf_counter() - start
            start = time.perf_counter()
            trace = nutpie.sample(compiled, progress_bar=False, **settings)
            sampling_s = time.perf_counter() - start
            runs.append(
                {
                    "compile_s": round(compile_s, 3),
                    "sampling_s": round(sampling_s, 3),
                    **diagnostics(trace, var_names, sampling_s),
                    "gate_error": None,
                }
            )
            traces.append(trace)
    except Exception as failure:  # noqa: BLE001  (a benchmark records why the alternative failed)
        return {"status": "failed", "reason": f"{type(failure).__name__}: {failure}"[:600], "runs": runs}
    names = [name for name in traces[0].posterior.data_vars]
    summary = summarise(runs)
    summary.update(
        {
            "status": "ok",
            "version": nutpie.__version__,
            "backend": "numba",
            "settings": {k: v for k, v in settings.items()},
            "first_run_compile_s": runs[0]["compile_s"],
            "reproducible_for_fixed_seed": all(same_draws(traces[0], t, names) for t in traces[1:]),
            "runs": runs,
        }
    )
    return summary


# --------------------------------------------------------------------------- quadrature, design


def timed_median(call, repeat: int, before=None) -> dict:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return {"median_s": med(times), "min_s": round(min(times), 4), "max_s": round(max(times), 4), "runs": len(times)}


def clear_quadrature_caches():
    map_model._likelihood_grid.cache_clear()
    map_model._count_grid.cache_clear()
    map_model._MAP_PRIORS.clear()


def bench_quadrature(repeat: int, map_draws) -> dict:
    cohorts = data.load_cohorts()
    bsi = map_model.earlier_studies(cohorts, "bsi")
    trial = cohorts[(cohorts["role"] == "trial") & (cohorts["outcome"] == "bsi")].iloc[0]
    trial_bsi = (int(trial["events"]), int(trial["n"]))
    empirical = comparative.empirical_log_odds_ratios(comparative.build_evidence())
    runs = max(repeat, 5)
    quad = map_model.map_quadrature(bsi["events"], bsi["n"])
    results = {
        "map_quadrature_cold": timed_median(
            lambda: map_model.map_quadrature(bsi["events"], bsi["n"]), runs, clear_quadrature_caches
        ),
        "map_quadrature_warm": timed_median(lambda: map_model.map_quadrature(bsi["events"], bsi["n"]), runs),
        "tau_sensitivity_with_box_check_cold": timed_median(
            lambda: map_model.tau_sensitivity(bsi, trial=trial_bsi), runs, clear_quadrature_caches
        ),
        "map_prior_rejection_quadrature_path_cold": timed_median(
            lambda: map_model.map_prior(cohorts, "rejection", method="quadrature"), runs, clear_quadrature_caches
        ),
        "normal_normal_quadrature": timed_median(
            lambda: comparative.normal_normal_quadrature(empirical["log_or"], empirical["variance"]), runs
        ),
    }
    if map_draws is not None:
        results["crosscheck_predictive_map_bsi"] = timed_median(
            lambda: map_model.crosscheck_predictive(map_draws, quad, model="benchmark"), runs
        )
    return results


def bench_design_search(repeat: int) -> dict:
    bench_design.time_search(60, 1)  # warm-up, as bench_design.py does
    timings = bench_design.time_search(60, max(repeat, 5))
    return {
        "setting": bench_design.SETTING,
        "n_max": 60,
        "median_s": med(timings),
        "min_s": round(min(timings), 4),
        "max_s": round(max(timings), 4),
        "runs": len(timings),
    }


# --------------------------------------------------------------------------- scaling


def generated_arms(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` generated earlier treated arms (in memory only): 15-60 patients each, risks
    logit-normal around the pooled BSI proportion of the real earlier treated arms."""
    cohorts = data.load_cohorts()
    real = map_model.earlier_studies(cohorts, "bsi")
    centre = float(logit(real["events"].sum() / real["n"].sum()))
    rng = np.random.default_rng(SEED + count)
    n = rng.integers(15, 61, size=count)
    risk = expit(centre + 0.5 * rng.standard_normal(count))
    return rng.binomial(n, risk), n


def bench_scaling(counts, repeat: int, quick: bool, busy_log: list) -> dict:
    import pandas as pd

    rows = {}
    for count in counts:
        events, n = generated_arms(count)
        studies = pd.DataFrame({"events": events, "n": n, "study": [f"generated {i}" for i in range(count)]})
        runs_for_count = repeat
        wait_until_idle(f"scaling {count}", busy_log)
        print(f"  scaling: {count} generated arms, {runs_for_count} run(s) ...", flush=True)

        def fit(studies=studies, name=f"scaling_{count}"):
            map_model.clear_cache()
            map_model.fit_map(studies, name, sampling=QUICK_SAMPLING if quick else None)

        summary, _ = bench_pymc(fit, map_model.GATED_VARS, runs_for_count)
        summary.pop("reproducible_for_fixed_seed", None)
        quadrature = timed_median(
            lambda events=events, n=n: map_model.map_quadrature(events, n),
            max(runs_for_count, 3),
            clear_quadrature_caches,
        )
        mark_end(busy_log)
        rows[str(count)] = {
            "cohorts": count,
            "patients": int(n.sum()),
            "events": int(events.sum()),
            "pymc": summary,
            "map_quadrature_cold": quadrature,
        }
    return {"counts": list(counts), "by_count": rows, "growth": growth(rows)}


def growth(rows: dict) -> dict:
    """Least-squares slope of log time against log cohorts (1 = linear)."""
    counts = np.array([row["cohorts"] for row in rows.values()], dtype=float)
    out = {}
    series = {
        "pymc_sampling_s": [row["pymc"]["sampling_s"] for row in rows.values()],
        "pymc_end_to_end_s": [row["pymc"]["end_to_end_s"] for row in rows.values()],
        "map_quadrature_s": [row["map_quadrature_cold"]["median_s"] for row in rows.values()],
    }
    for name, times in series.items():
        slope = float(np.polyfit(np.log(counts), np.log(np.asarray(times, dtype=float)), 1)[0])
        out[name] = {"log_log_slope": round(slope, 3), "at_most_linear": bool(slope <= 1.0)}
    return out


# --------------------------------------------------------------------------- report


def environment() -> dict:
    from importlib import metadata

    versions = {}
    for name in ("pymc", "pytensor", "numba", "arviz", "numpy", "scipy", "nutpie"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "versions": versions,
        "commit": commit,
        "PYTENSOR_FLAGS": os.environ.get("PYTENSOR_FLAGS"),
        "NKREPORT_FIT_CACHE": os.environ.get("NKREPORT_FIT_CACHE"),
    }


def print_summary(report: dict) -> None:
    print(
        "\nModel benchmarks",
        report["date"],
        "-",
        report["machine"]["cpu"],
        f"{report['machine']['cores']} cores",
        "(quick run)" if report["quick"] else f"(median of {report['repeat']} runs)",
    )
    header = (
        f"{'model':<20}{'sampler':<9}{'compile s':>10}{'sample s':>10}{'min bulk ESS':>14}{'ESS/s':>9}"
        f"{'div':>5}  gate  reproducible"
    )
    print(header)
    for name, entry in report["models"].items():
        for sampler in ("pymc", "nutpie"):
            row = entry[sampler]
            if row.get("status") in ("not run", "failed"):
                print(f"{name:<20}{sampler:<9}  {row['status']}: {row['reason'][:80]}")
                continue
            print(
                f"{name:<20}{sampler:<9}{row['compile_s']:>10.2f}{row['sampling_s']:>10.2f}"
                f"{row['min_ess_bulk']:>14.0f}{row['min_ess_bulk_per_s']:>9.0f}{row['divergences']:>5.0f}"
                f"  {'pass' if row['passes_gate_every_run'] else 'FAIL'}  {row['reproducible_for_fixed_seed']}"
            )
    print("\nQuadrature cross-checks (median s):")
    for name, entry in report["quadrature"].items():
        print(f"  {name:<45}{entry['median_s']:.4f}")
    print(f"\nDesign search n <= 60: median {report['design_search']['median_s']:.3f} s")
    print("\nScaling of the MAP model over generated earlier treated arms:")
    for count, row in report["scaling"]["by_count"].items():
        p = row["pymc"]
        print(
            f"  {count:>5} arms: compile {p['compile_s']:.1f} s, sampling {p['sampling_s']:.1f} s, "
            f"end-to-end {p['end_to_end_s']:.1f} s, min bulk ESS {p['min_ess_bulk']:.0f} "
            f"({p['min_ess_bulk_per_s']:.0f}/s), divergences {p['divergences']:.0f}, "
            f"gate {'passed' if p['passes_gate_every_run'] else 'FAILED'}; quadrature "
            f"{row['map_quadrature_cold']['median_s']:.3f} s"
        )
    for name, g in report["scaling"]["growth"].items():
        print(
            f"  {name}: log-log slope {g['log_log_slope']:.2f} -> "
            f"{'at most linear' if g['at_most_linear'] else 'faster than linear'}"
        )
    busy = [
        entry["measurement"]
        for entry in report["busy_log"]
        if entry["machine_busy_at_start"] or entry.get("machine_busy_at_end")
    ]
    print("\nMachine busy during:", ", ".join(busy) if busy else "none of the measurements")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run, fewer draws, scaling to 100 arms; printed, not written unless --out",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default benchmarks/results/map_model.json; none with --quick)",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="do not wait for an idle machine (a busy machine is still recorded)"
    )
    args = parser.parse_args()
    global NO_WAIT
    NO_WAIT = args.no_wait
    repeat = 1 if args.quick else args.repeat
    out = args.out or (None if args.quick else HERE / "results" / "map_model.json")
    busy_log: list = []
    started = time.perf_counter()

    report_models = {}
    map_draws = None
    for name, (description, call, var_names) in model_drivers(args.quick).items():
        wait_until_idle(name, busy_log)
        print(f"{name}: {description}; PyMC default NUTS, {repeat} run(s) ...", flush=True)
        pymc_summary, records = bench_pymc(call, var_names, repeat)
        if name == "map_bsi":
            map_draws = np.asarray(records[0]["idata"].posterior["theta_new"])
        print(f"{name}: nutpie ...", flush=True)
        nutpie_summary = bench_nutpie(records[0], var_names, repeat)
        mark_end(busy_log)
        report_models[name] = {
            "description": description,
            "gated_variables": var_names or "all",
            "pymc": pymc_summary,
            "nutpie": nutpie_summary,
        }

    wait_until_idle("quadrature", busy_log)
    print("quadrature cross-checks ...", flush=True)
    quadrature = bench_quadrature(repeat, map_draws)
    mark_end(busy_log)
    wait_until_idle("design search", busy_log)
    print("design search ...", flush=True)
    design = bench_design_search(repeat)
    mark_end(busy_log)
    print("scaling ...", flush=True)
    scaling = bench_scaling(QUICK_SCALING_COHORTS if args.quick else SCALING_COHORTS, repeat, args.quick, busy_log)

    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "environment": environment(),
        "repeat": repeat,
        "quick": args.quick,
        "quick_sampling_override": QUICK_SAMPLING if args.quick else None,
        "models": report_models,
        "quadrature": quadrature,
        "design_search": design,
        "scaling": scaling,
        "busy_log": busy_log,
        "total_benchmark_s": round(time.perf_counter() - started, 1),
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print_summary(report)
    if out is not None:
        print(f"\nwritten: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
