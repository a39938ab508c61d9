"""Build hooks for the book: validation first, data-aware execution cache, results JSON.

Enabled in ``_config.yml`` with ``sphinx: extra_extensions: [nkreport.build]``; the
fingerprints are Sphinx-free, in :mod:`nkreport.build.fingerprints`.

* **Validation first** (``builder-inited``): every data file is checked before any chapter
  is read or executed; on a problem the build stops with the file, line and field, and the
  previous ``_build/html`` is left as it was.
* **Data-aware cache** (``env-get-outdated`` and ``source-read``): myst-nb's execution cache
  keys on code-cell text only. Each notebook chapter depends on groups of files (by default all
  of them; a chapter can narrow the list in its front matter with ``nkreport_depends:
  [cohorts, trial]``, or name cohort rows by role and outcome: ``[cohorts/outcome=bsi]``).
  A fingerprint of those files is kept per chapter; when it changes the
  chapter is re-read, and the fingerprint is written as a comment into its first code cell, so
  the execution cache key changes too. Restoring the files restores the earlier key, and the
  earlier cached run is reused.
* **Parallel execution** (``env-before-read-docs``, :mod:`nkreport.build.preexecute`): the chapters
  missing from the execution cache run on several cores before Sphinx reads them.
* **Results JSON** (``build-finished``): every value glued with :func:`nkreport.report.glue.glue`
  goes into ``<outdir>/results.json`` as ``{key: {value, text, chapter}}``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from docutils.transforms import Transform
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from .. import __version__, paths
from ..cohort_rows import cohort_rows
from ..paths import write_atomic
from ..report import editions
from ..report import glue as results
from ..report.markup import DATA_TABLE_CLASS
from . import preexecute, publish, reading
from .fingerprints import (
    DEPENDENCY_GROUPS,
    INCOMPLETE_MARK,
    INPUTS_FILE,
    VALIDATED_STAMP,
    all_inputs_fingerprint,
    chapter_dependencies,
    chapter_fingerprint,
    chapter_inputs,
    group_base,
    group_fingerprint,
    inject_fingerprint,
    validation_key,
)

logger = logging.getLogger(__name__)


def _root(app: Sphinx) -> Path:
    return paths.project_root()


def _doc_source(app: Sphinx, docname: str) -> str:
    return Path(app.env.doc2path(docname)).read_text(encoding="utf-8")


def _current_fingerprints(app: Sphinx, docnames) -> dict[str, str]:
    root = _root(app)
    cache: dict[tuple[str, ...], str] = {}
    out = {}
    for docname in docnames:
        try:
            groups = chapter_dependencies(_doc_source(app, docname))
        except OSError:
            continue
        if groups is None:
            continue
        if groups not in cache:
            cache[groups] = chapter_fingerprint(root, groups)
        out[docname] = cache[groups]
    return out


def validate_first(app: Sphinx) -> None:
    # Chapter kernels inherit this process's environment: make them render figures inline
    # whatever MPLBACKEND the caller had set (Agg would silently drop every figure).
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    key = validation_key()
    stamp = Path(app.outdir).parent / VALIDATED_STAMP
    if stamp.exists() and stamp.read_text(encoding="utf-8") == key:
        return  # nothing validation reads has changed since a build validated it
    from .. import data  # pandas and pandera load only when there is something to check

    problems = data.validate_all(paths.data_dir())
    if problems:
        raise ExtensionError(
            "the book's data is invalid; nothing was executed or written.\n" + str(data.DataValidationError(problems))
        )
    write_atomic(stamp, key)


def on_env_get_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    stored = getattr(env, "nkreport_fingerprints", {})
    candidates = [d for d in env.found_docs if d not in added and d not in changed]
    current = _current_fingerprints(app, candidates)
    outdated = sorted(d for d, fp in current.items() if stored.get(d) != fp)
    everything = all_inputs_fingerprint(_root(app))
    if getattr(env, "nkreport_all_inputs", None) != everything:
        # pages without code show the fingerprint of all inputs in their footer: write them again
        outdated = sorted(set(outdated) | {d for d in candidates if d not in current})
    env.nkreport_all_inputs = everything
    if outdated:
        logger.info(f"[nkreport] inputs changed; re-reading: {', '.join(outdated)}")
    return outdated


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    groups = chapter_dependencies(source[0])
    if groups is None:
        return
    fingerprint = chapter_fingerprint(_root(app), groups)
    source[0] = inject_fingerprint(source[0], fingerprint)
    if not hasattr(app.env, "nkreport_fingerprints"):
        app.env.nkreport_fingerprints = {}
    app.env.nkreport_fingerprints[docname] = fingerprint


def on_env_purge_doc(app: Sphinx, env, docname: str) -> None:
    getattr(env, "nkreport_fingerprints", {}).pop(docname, None)


def on_env_merge_info(app: Sphinx, env, docnames, other) -> None:
    env.nkreport_fingerprints = {
        **getattr(env, "nkreport_fingerprints", {}),
        **getattr(other, "nkreport_fingerprints", {}),
    }


def write_results(app: Sphinx, exception) -> None:
    if exception is not None:
        return
    execute_dir = Path(app.outdir).parent / "jupyter_execute"
    glue_files = {doc: execute_dir.joinpath(*(doc + ".glue.json").split("/")) for doc in sorted(app.env.found_docs)}
    collected = results.collect(glue_files)
    root = _root(app)
    fingerprints = {group: group_fingerprint(root, group) for group in DEPENDENCY_GROUPS}
    payload = {
        "nkreport_version": __version__,
        "inputs": {group: fingerprint[:16] for group, fingerprint in fingerprints.items()},
        "cohort_rows": cohort_rows(group_base(root, "cohorts")),
        "previous_edition": previous.stem if (previous := editions.previous_edition(root)) else None,
        "results": collected,
    }
    out = Path(app.outdir) / results.RESULTS_FILE
    write_atomic(out, json.dumps(payload, indent=1, sort_keys=True) + "\n")
    logger.info(f"[nkreport] {len(collected)} glued results written to {out}")
    write_inputs(app, root, fingerprints)


def write_inputs(app: Sphinx, root: Path, known: dict[str, str] | None = None) -> None:
    docs = {doc: Path(app.env.doc2path(doc)) for doc in app.env.found_docs}
    payload = {
        "nkreport_version": __version__,
        "chapters": chapter_inputs(root, docs, known),
        "cohort_rows": cohort_rows(group_base(root, "cohorts")),
    }
    write_atomic(Path(app.outdir).parent / INPUTS_FILE, json.dumps(payload, indent=1, sort_keys=True) + "\n")


def recover_interrupted_build(app: Sphinx, config) -> None:
    """If the last build stopped before it finished (killed, or an error while writing), drop
    Sphinx's saved environment, so this build reads and writes every page (execution results
    still come from the cache) and the site equals a clean build's. Runs before Sphinx loads the
    environment (``config-inited``); the mark is removed when a build finishes without error."""
    mark = Path(app.outdir).parent / INCOMPLETE_MARK
    if mark.exists():
        pickle = Path(app.doctreedir) / "environment.pickle"
        if pickle.exists():
            logger.info("[nkreport] the last build did not finish: reading and writing every page again")
            pickle.unlink()
    write_atomic(mark, "a build started and has not finished\n")


def mark_build_finished(app: Sphinx, exception) -> None:
    if exception is None:
        (Path(app.outdir).parent / INCOMPLETE_MARK).unlink(missing_ok=True)


def prune_stale_files(app: Sphinx, exception) -> None:
    """Remove images and downloads that no page of the site refers to any more (left by an
    earlier build: a figure of a cohort since removed), so an incremental build's site equals a
    clean build's."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    referenced: set[str] = set()
    pattern = re.compile(r"(_images|_downloads)/([^\"'\s)#?]+)")
    for page in outdir.rglob("*.html"):
        for folder, name in pattern.findall(page.read_text(encoding="utf-8", errors="replace")):
            referenced.add(f"{folder}/{name}")
    removed = 0
    for folder in ("_images", "_downloads"):
        base = outdir / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and path.relative_to(outdir).as_posix() not in referenced:
                path.unlink()
                removed += 1
    if removed:
        logger.info(f"[nkreport] removed {removed} image(s) or download(s) no page refers to")


class KeepDataAsTyped(Transform):
    """Tables built from data (class ``nkreport-data``) are exempt from smart quotes, so their
    quotes, ``--`` and ``...`` are printed as typed (Sphinx's transform runs at priority 750)."""

    default_priority = 740

    def apply(self, **kwargs) -> None:
        from docutils import nodes

        for table in self.document.findall(nodes.table):
            if DATA_TABLE_CLASS in table.get("classes", []):
                table["support_smartquotes"] = False


def set_build_dir(app: Sphinx) -> None:
    """Tell the chapters' kernels (which inherit the environment) where this build writes, so
    a chapter can read values glued by earlier chapters (:func:`nkreport.report.glue.read_glued`)."""
    os.environ[paths.BUILD_DIR_ENV] = str(Path(app.outdir).parent)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", set_build_dir)
    app.connect("builder-inited", validate_first)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("source-read", on_source_read)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    app.connect("build-finished", write_results)
    app.connect("build-finished", prune_stale_files)
    app.connect("build-finished", mark_build_finished, priority=900)
    app.connect("config-inited", recover_interrupted_build)
    app.add_transform(KeepDataAsTyped)
    preexecute.setup(app)
    publish.setup(app)
    reading.setup(app)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
