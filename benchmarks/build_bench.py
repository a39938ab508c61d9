"""Build benchmarks: clean HTML build, no-change rebuild, rebuilds after adding one cohort of
each kind (an external BSI baseline, an external rejection baseline, an earlier comparative BSI
study, one after another), PDF after HTML, and per-chapter execution times.

Every figure is the median over ``--repeat`` runs, each in a fresh copy of the repository's
tracked files (so the book's execution cache and store of fits start empty). PyTensor's and
numba's compile caches in the home folder stay as they are, as after an install that has
built the book once; ``--cold-compile-caches`` gives each clean build empty ones instead, as
on a new machine. Chapters run as the book runs them (in parallel, one per core;
``NKREPORT_EXECUTION_WORKERS`` to change). Run from the repository root:

    python benchmarks/build_bench.py --repeat 3 [--pdf] [--cold-compile-caches]

The generated cohorts (made-up counts, labelled as generated) exist only inside the temporary
copy; nothing is written to data/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JB = str(Path(sys.executable).with_name("jupyter-book"))
BUILD = [JB, "build", ".", "-W", "-n", "--keep-going"]

BENCH_COHORT = """cohort_id,study_id,study,arm,role,outcome,events,n,window_days,printed_percent,design,use,source,location,verified,note
bench_bsi,bench,Benchmark cohort (generated),control,external_baseline,bsi,12,100,30,,generated for the benchmark,primary,doi:10.0000/benchmark,benchmark,unverified,generated inside the benchmark's temporary copy only
"""
_HEADER = BENCH_COHORT.splitlines()[0]
_TAIL = "doi:10.0000/benchmark,benchmark,unverified,generated inside the benchmark's temporary copy only"
#: Generated cohorts added one after another after the external BSI baseline: name → CSV text.
MORE_COHORTS = {
    "rejection_baseline": f"""{_HEADER}
benchr_rejection,benchr,Benchmark rejection baseline (generated),control,external_baseline,rejection,20,100,180,,generated for the benchmark,primary,{_TAIL}
""",
    "comparative_bsi_study": f"""{_HEADER}
benchc_nk_bsi,benchc,Benchmark comparative study (generated),nk,earlier_treated,bsi,3,40,30,,generated for the benchmark,primary,{_TAIL}
benchc_control_bsi,benchc,Benchmark comparative study (generated),control,earlier_untreated,bsi,9,40,30,,generated for the benchmark,primary,{_TAIL}
""",
}


def add_cohort(copy: Path, name: str, text: str) -> None:
    """Write a generated cohort file and its sidecar into the copy's data/cohorts."""
    (copy / "data" / "cohorts" / f"{name}.csv").write_text(text)
    ids = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
    sidecar = {
        "title": "Generated benchmark cohort",
        "references": ["ohira2025"],
        "columns": _HEADER.split(","),
        "cohort_ids": ids,
    }
    (copy / "data" / "cohorts" / f"{name}.json").write_text(json.dumps(sidecar))


def fresh_copy() -> Path:
    target = Path(tempfile.mkdtemp(prefix="nkreport-bench-"))
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def timed(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout + result.stderr


def executed_chapters(log: str) -> list[str]:
    """Chapters executed by a build: in the extension's parallel pass or by myst-nb while reading."""
    log = re.sub(r"\x1b\[[0-9;]*m", "", log)
    return sorted(
        set(re.findall(r"book/(\S+)\.md: Executing notebook", log))
        | set(re.findall(r"^\[nkreport\] executed book/(\S+) in ", log, re.MULTILINE))
    )


def chapter_times(copy: Path) -> dict[str, float]:
    from jupyter_cache import get_cache

    cache = get_cache(copy / "_build" / ".jupyter_cache")
    times = {}
    for record in cache.list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            times[Path(record.uri).stem] = round(float(seconds), 2)
    return dict(sorted(times.items()))


def cold_compile_env(copy: Path) -> dict:
    """Environment giving a build empty PyTensor and numba compile caches (inside the copy)."""
    flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f and not f.startswith("base_compiledir=")]
    return {
        "PYTENSOR_FLAGS": ",".join([*flags, f"base_compiledir={copy / '_compile' / 'pytensor'}"]),
        "NUMBA_CACHE_DIR": str(copy / "_compile" / "numba"),
    }


def machine() -> dict:
    import platform

    memory = None
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "cpu": cpu,
    }


def main() -> None:
    from nkreport.build import preexecute

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pdf", action="store_true", help="also time the PDF build (needs TeX)")
    parser.add_argument(
        "--cold-compile-caches",
        action="store_true",
        help="give each clean build empty PyTensor and numba compile caches, as on a new machine",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "build.json")
    args = parser.parse_args()

    clean, nochange, added, pdf = [], [], [], []
    rerun, per_chapter = [], {}
    more: dict[str, list[float]] = {}
    more_rerun: dict[str, list[str]] = {}
    whats_new: dict[str, str] = {}
    for run in range(args.repeat):
        copy = fresh_copy()
        try:
            seconds, _ = timed(BUILD, copy, cold_compile_env(copy) if args.cold_compile_caches else None)
            clean.append(seconds)
            per_chapter = chapter_times(copy)
            for _ in range(3):
                nochange.append(timed(BUILD, copy)[0])
            (copy / "data" / "cohorts" / "bench.csv").write_text(BENCH_COHORT)
            (copy / "data" / "cohorts" / "bench.json").write_text(
                json.dumps(
                    {
                        "title": "Generated benchmark cohort",
                        "references": ["ohira2025"],
                        "columns": BENCH_COHORT.splitlines()[0].split(","),
                        "cohort_ids": ["bench_bsi"],
                    }
                )
            )
            seconds, log = timed(BUILD, copy)
            added.append(seconds)
            rerun = executed_chapters(log)
            for name, text in MORE_COHORTS.items():
                add_cohort(copy, f"bench_{name}", text)
                seconds, log = timed(BUILD, copy)
                more.setdefault(name, []).append(seconds)
                more_rerun[name] = executed_chapters(log)
            # the page on what changed, after the three generated cohorts (against the last edition)
            glued = json.loads((copy / "_build" / "html" / "results.json").read_text())["results"]
            whats_new = {k: v["text"] for k, v in glued.items() if k.startswith("whatsnew_")}
            if args.pdf:
                pdf.append(timed([JB, "build", ".", "--builder", "pdflatex"], copy)[0])
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        print(f"run {run + 1}: clean {clean[-1]:.1f} s, added cohort {added[-1]:.1f} s", flush=True)

    def med(values):
        return round(statistics.median(values), 2) if values else None

    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "repeat": args.repeat,
        "execution_workers": preexecute.workers(),
        "compile_caches": "cold for the clean builds" if args.cold_compile_caches else "warm (the user's own)",
        "clean_html_build_s": med(clean),
        "no_change_rebuild_s": med(nochange),
        "added_cohort_rebuild_s": med(added),
        "added_cohort_reexecuted": rerun,
        **{f"added_{name}_rebuild_s": med(values) for name, values in more.items()},
        **{f"added_{name}_reexecuted": chapters for name, chapters in more_rerun.items()},
        "pdf_after_html_s": med(pdf),
        "whats_new_after_added_cohorts": whats_new,
        "chapter_execution_s": per_chapter,
        "all_runs": {"clean": clean, "no_change": nochange, "added_cohort": added, **more, "pdf": pdf},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "all_runs"}, indent=1))


if __name__ == "__main__":
    main()
