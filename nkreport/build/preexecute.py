"""Parallel execution of the book's chapters before Sphinx reads them.

myst-nb executes a chapter when Sphinx reads it, so the chapters of a clean build run one
after another on one core. Before reading starts (``env-before-read-docs``), this module finds
the chapters whose run is missing from myst-nb's execution cache, executes them on several
workers at once, and stores each run in that cache under the key myst-nb itself computes (the
notebook is built from the source exactly as myst-nb builds it, data fingerprint included).
When Sphinx then reads a chapter, myst-nb finds the stored run and executes nothing.

* **Order.** A chapter may name, in its front matter, the chapters whose stored results it
  reuses: ``nkreport_after: [08_comparative]`` (names relative to the chapter's folder). It
  starts only after they have finished, so the shared fit is sampled once. Among the chapters
  ready to start, those that others wait for go first, then the longest by their last
  recorded run, then those that waited for others, then the book's order.
* **Left to myst-nb.** Chapters that read values glued by other chapters of the same build
  (dependency group ``chapters``, the conclusion) need those chapters read first; myst-nb
  executes them in reading order, as before. So does any chapter excluded from execution.
* **Failures.** A run that fails is not stored: myst-nb executes the chapter again while
  reading and reports the error with its traceback, exactly as without this module.
* **Workers.** ``NKREPORT_EXECUTION_WORKERS`` sets their number (default: the number of CPUs,
  at most 4); ``1`` turns parallel execution off.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

WORKERS_ENV = "NKREPORT_EXECUTION_WORKERS"
#: Front-matter key naming the chapters a chapter must run after.
AFTER_KEY = "nkreport_after"
#: Dependency group of chapters that read other chapters' glued values (never pre-executed).
READS_CHAPTERS = "chapters"
MAX_DEFAULT_WORKERS = 4


def workers() -> int:
    """How many chapters run at once (``NKREPORT_EXECUTION_WORKERS``, default CPUs up to 4)."""
    setting = os.environ.get(WORKERS_ENV, "").strip()
    if setting:
        try:
            count = int(setting)
        except ValueError:
            raise ExtensionError(f"{WORKERS_ENV} must be a whole number, not {setting!r}") from None
        if count < 1:
            raise ExtensionError(f"{WORKERS_ENV} must be at least 1, not {count}")
        return count
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


@dataclass
class Job:
    """One chapter to execute: its notebook as myst-nb builds it, and what it waits for."""

    docname: str
    path: Path
    notebook: object  # nbformat.NotebookNode
    timeout: int | None
    allow_errors: bool
    after: set[str] = field(default_factory=set)
    last_seconds: float = 0.0


def resolve_after(docname: str, names, known: set[str]) -> set[str]:
    """Docnames named in ``nkreport_after`` (relative to the chapter's folder)."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise ExtensionError(f"{docname}: {AFTER_KEY} must be a list of chapter names, not {names!r}")
    folder = PurePosixPath(docname).parent
    resolved = set()
    for name in names:
        target = str(folder / str(name).removesuffix(".md")) if str(folder) != "." else str(name).removesuffix(".md")
        if target not in known:
            raise ExtensionError(f"{docname}: {AFTER_KEY} names {name!r}, which is not a chapter of the book")
        resolved.add(target)
    return resolved


def schedule(jobs: dict[str, Job]) -> list[str]:
    """Start order among jobs with nothing left to wait for: chapters others wait for first
    (more waiting chapters first), then the longest last run, then chapters that waited for
    others (they reuse a stored fit, so they are model chapters: without a recorded run they
    start as soon as they can), then book (name) order."""
    dependents = {name: 0 for name in jobs}

    def count(name: str, seen: set[str]) -> None:
        for before in jobs[name].after:
            if before in jobs and before not in seen:
                seen.add(before)
                dependents[before] += 1
                count(before, seen)

    for name in jobs:
        count(name, set())
    return sorted(jobs, key=lambda n: (-dependents[n], -jobs[n].last_seconds, not jobs[n].after, n))


def check_cycles(jobs: dict[str, Job]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ExtensionError(f"{AFTER_KEY} forms a cycle: {' -> '.join([*trail, name])}")
        state[name] = 1
        for before in jobs[name].after:
            if before in jobs:
                visit(before, [*trail, name])
        state[name] = 2

    for name in jobs:
        visit(name, [])


def _last_run_seconds(cache, uri: str) -> float:
    records = [r for r in cache.list_cache_records() if r.uri == uri]
    if not records:
        return 0.0
    latest = max(records, key=lambda r: r.created)
    return float((latest.data or {}).get("execution_seconds") or 0.0)


def _notebook_and_config(app, docname: str, path: Path):
    """The notebook myst-nb will build for ``docname`` (after this package's source-read
    hook), with the execution configuration it will use; None for a plain Markdown page."""
    from myst_nb.core.nb_to_tokens import nb_node_to_dict
    from myst_nb.core.read import create_nb_reader

    from .. import paths
    from .fingerprints import (
        chapter_dependencies,
        chapter_fingerprint,
        inject_fingerprint,
    )

    text = path.read_text(encoding=app.config.source_encoding)
    groups = chapter_dependencies(text)
    if groups is None or READS_CHAPTERS in groups:
        return None
    text = inject_fingerprint(text, chapter_fingerprint(paths.project_root(), groups))
    nb_config = app.env.mystnb_config
    reader = create_nb_reader(str(path), app.env.myst_config, nb_config, text)
    if reader is None:
        return None
    notebook = reader.read(text)
    kernel_name = notebook.metadata.get("kernelspec", {}).get("name")
    if kernel_name is not None and nb_config.kernel_rgx_aliases:
        for pattern, alias in nb_config.kernel_rgx_aliases.items():
            if re.fullmatch(pattern, kernel_name):
                notebook.metadata["kernelspec"]["name"] = alias
                break
    if nb_config.metadata_key in notebook.metadata:
        overrides = nb_node_to_dict(notebook.metadata[nb_config.metadata_key])
        overrides.pop("output_folder", None)
        nb_config = nb_config.copy(**overrides)
    posix = PurePosixPath(path.as_posix())
    if any(posix.match(pattern) for pattern in nb_config.execution_excludepatterns):
        return None
    return notebook, nb_config


def collect_jobs(app, docnames, cache) -> dict[str, Job]:
    """The chapters among ``docnames`` whose run is missing from the execution cache."""
    jobs: dict[str, Job] = {}
    known = set(app.env.found_docs)
    for docname in sorted(docnames):
        path = Path(app.env.doc2path(docname))
        if path.suffix != ".md" or not path.is_file():
            continue
        built = _notebook_and_config(app, docname, path)
        if built is None:
            continue
        notebook, nb_config = built
        try:
            cache.match_cache_notebook(notebook)
            continue  # already executed with these inputs
        except KeyError:
            pass
        after = resolve_after(docname, notebook.metadata.get(AFTER_KEY, []), known)
        jobs[docname] = Job(
            docname,
            path,
            notebook,
            nb_config.execution_timeout,
            nb_config.execution_allow_errors,
            after,
            _last_run_seconds(cache, str(path)),
        )
    check_cycles(jobs)
    return jobs


def _execute(job: Job):
    from jupyter_cache.executors.utils import single_nb_execution

    return single_nb_execution(
        job.notebook, cwd=str(job.path.parent), timeout=job.timeout, allow_errors=job.allow_errors, meta_override=True
    )


def run_jobs(jobs: dict[str, Job], cache, count: int) -> dict[str, str]:
    """Execute ``jobs`` on ``count`` workers, respecting their order; store each success in
    ``cache``. Returns {docname: 'executed' | 'failed: <error>'}."""
    pending = schedule(jobs)
    outcome: dict[str, str] = {}
    running: dict[Future, Job] = {}
    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="nkreport-execute")
    try:
        while pending or running:
            for name in list(pending):
                if len(running) >= count:
                    break
                if any(before in jobs and before not in outcome for before in jobs[name].after):
                    continue
                pending.remove(name)
                logger.info(f"[nkreport] executing {name}")
                running[pool.submit(_execute, jobs[name])] = jobs[name]
            if not running:  # only possible with a cycle, which check_cycles rules out
                raise ExtensionError(f"{AFTER_KEY}: nothing can start among {pending}")
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                outcome[job.docname] = _store(job, future, cache)
    except BaseException:  # interrupted: start nothing more
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return outcome


def _store(job: Job, future: Future, cache) -> str:
    """Store a successful run in the execution cache; report a failed one."""
    from jupyter_cache.base import CacheBundleIn

    try:
        result = future.result()
        error = result.err
    except Exception as exc:  # noqa: BLE001 -- any failure (even a kernel that cannot start) goes to myst-nb
        result, error = None, exc
    if error is not None:
        logger.info(
            f"[nkreport] {job.docname} failed ({error.__class__.__name__}); "
            "it is executed again while reading, which reports the error"
        )
        return f"failed: {error.__class__.__name__}"
    cache.cache_notebook_bundle(
        CacheBundleIn(job.notebook, str(job.path), data={"execution_seconds": result.time}),
        check_validity=False,
        overwrite=True,
    )
    logger.info(f"[nkreport] executed {job.docname} in {result.time:.1f} s")
    return "executed"


def on_env_before_read_docs(app, env, docnames) -> None:
    nb_config = getattr(env, "mystnb_config", None)
    if nb_config is None or nb_config.execution_mode != "cache":
        return
    count = workers()
    if count < 2:
        return
    from jupyter_cache import get_cache

    cache = get_cache(nb_config.execution_cache_path or ".jupyter_cache")
    jobs = collect_jobs(app, docnames, cache)
    if len(jobs) < 2:
        return  # nothing to gain: myst-nb runs a single chapter just as fast
    start = time.perf_counter()
    logger.info(f"[nkreport] executing {len(jobs)} chapters on {count} workers before reading")
    outcome = run_jobs(jobs, cache, min(count, len(jobs)))
    failed = sorted(name for name, state in outcome.items() if state != "executed")
    logger.info(
        f"[nkreport] {len(outcome) - len(failed)} chapters executed in "
        f"{time.perf_counter() - start:.1f} s" + (f"; failed: {', '.join(failed)}" if failed else "")
    )


def setup(app) -> None:
    app.connect("env-before-read-docs", on_env_before_read_docs)
