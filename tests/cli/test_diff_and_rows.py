"""``nkreport status`` with chapters that read cohort rows by role and outcome, and
``nkreport diff`` / ``nkreport edition``: exit codes, text for people, JSON for scripts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nkreport import cli, paths
from nkreport.build import fingerprints as hooks
from nkreport.cohort_rows import cohort_rows

ROOT = paths.project_root()
CHAPTER = """---
nkreport_depends: [{groups}]
---

# A chapter

```{{code-cell}} ipython3
print(1)
```
"""
# TEST FIXTURE, not data: a hypothetical external rejection baseline.
REJECTION_ROW = (
    "fixture_rejection,fixture,TEST FIXTURE,control,external_baseline,rejection,3,30,,,test fixture,primary,"
    "doi:10.0000/test-fixture,test fixture,unverified,test fixture\n"
)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """The data, the package and three chapters reading different cohort rows, with the record
    a build leaves (chapters' inputs and every cohort row's digest)."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "nkreport", tmp_path / "nkreport", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "book").mkdir()
    chapters = {
        "reads_bsi": "cohorts/outcome=bsi",
        "reads_rejection": "cohorts/outcome=rejection/role=external_baseline",
        "reads_trial_rows": "cohorts/role=trial",
        "reads_every_cohort": "cohorts",
    }
    for name, groups in chapters.items():
        (tmp_path / "book" / f"{name}.md").write_text(CHAPTER.format(groups=groups))
    (tmp_path / "_config.yml").write_text("title: test\n")
    docs = {f"book/{p.stem}": p for p in (tmp_path / "book").glob("*.md")}
    record = {
        "chapters": hooks.chapter_inputs(tmp_path, docs),
        "cohort_rows": cohort_rows(tmp_path / "data" / "cohorts"),
    }
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / hooks.INPUTS_FILE).write_text(json.dumps(record))
    return tmp_path


def test_status_names_the_rows_a_chapter_reads(capsys, project):
    path = project / "data" / "cohorts" / "external_rejection.csv"
    path.write_text(path.read_text() + REJECTION_ROW)
    code, out, _ = run(capsys, "status", "--root", project, "--json")
    status = json.loads(out)
    assert status["reexecute"] == ["book/reads_every_cohort", "book/reads_rejection"]
    assert status["cohorts_changed"] == {"added": ["fixture_rejection"], "removed": [], "changed": []}
    assert status["chapters"]["book/reads_rejection"]["reasons"] == [
        "inputs changed: cohort rows with outcome rejection and role external_baseline",
        "cohort fixture_rejection added (external_baseline, rejection)",
    ]
    assert status["chapters"]["book/reads_bsi"]["state"] == "cached"
    code, out, _ = run(capsys, "status", "--root", project)
    assert "cohort fixture_rejection added (external_baseline, rejection)" in out
    assert "cached     book/reads_trial_rows" in out


def test_status_on_a_changed_trial_row(capsys, project):
    path = project / "data" / "cohorts" / "ohira2025_trial.csv"
    path.write_text(path.read_text().replace("no adverse events directly related", "no adverse event directly related"))
    code, out, _ = run(capsys, "status", "--root", project, "--json")
    status = json.loads(out)
    assert status["reexecute"] == ["book/reads_every_cohort", "book/reads_trial_rows"]
    assert (
        "cohort ohira2025_related_ae changed (trial, related_ae)"
        in status["chapters"]["book/reads_trial_rows"]["reasons"]
    )


# --- diff and edition --------------------------------------------------------------------------


def _results(**values) -> dict:
    """A results payload: key → (value, text, chapter)."""
    return {
        "nkreport_version": "0.1.0",
        "inputs": {"cohorts": "a"},
        "cohort_rows": {"x_bsi": {"role": "earlier_untreated", "outcome": "bsi", "sha": "1", "study": "X"}},
        "results": {k: {"value": v, "text": t, "chapter": c} for k, (v, t, c) in values.items()},
    }


OLD = _results(
    concl_pooled_with_p1=(0.83, "0.83", "book/11_conclusion"),
    concl_pooled_with_or=(0.5, "0.50", "book/11_conclusion"),
    concl_pooled_with_ci=([0.2, 0.9], "0.20 to 0.90", "book/11_conclusion"),
    cmp_studies=(2, "2", "book/08_comparative"),
    evidence_rows=(20, "20", "book/02_evidence"),
)


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A project folder with one stored edition (OLD) and a newer results file."""
    (tmp_path / "editions").mkdir()
    old = tmp_path / "editions" / "0.1.0.json"
    old.write_text(json.dumps({**OLD, "edition": "0.1.0"}))
    new_payload = json.loads(json.dumps(OLD))
    new_payload["results"]["concl_pooled_with_p1"].update(value=0.78, text="0.78")
    new_payload["results"]["concl_pooled_with_ci"].update(value=[0.3, 1.1], text="0.30 to 1.1")
    new_payload["results"]["cmp_studies"].update(value=3, text="3")
    new_payload["cohort_rows"]["y_bsi"] = {"role": "earlier_treated", "outcome": "bsi", "sha": "2", "study": "Y"}
    new = tmp_path / "_build" / "html" / "results.json"
    new.parent.mkdir(parents=True)
    new.write_text(json.dumps(new_payload))
    return tmp_path, old, new


def test_diff_defaults_to_previous_edition_and_last_build(capsys, files):
    root, old, new = files
    code, out, _ = run(capsys, "diff", "--root", root, "--json")
    report = json.loads(out)
    assert code == cli.EXIT_CONCLUSION_CHANGED
    assert report["old"] == str(old) and report["new"] == str(new)
    assert report["cohorts"] == {"added": ["y_bsi"], "removed": [], "changed": []}
    assert [c["key"] for c in report["headline"]["changed"]] == ["concl_pooled_with_ci", "concl_pooled_with_p1"]
    assert report["chapters"] == {
        "book/08_comparative": {
            "added": [],
            "removed": [],
            "changed": [{"key": "cmp_studies", "before": 2, "after": 3, "before_text": "2", "after_text": "3"}],
        }
    }
    kinds = {(c["key"], c["kind"]) for c in report["conclusion_changes"]}
    assert kinds == {
        ("concl_pooled_with_p1", "probability crossing"),
        ("concl_pooled_with_ci", "interval and no effect"),
    }
    code, out, _ = run(capsys, "diff", "0.1.0", new, "--root", root)
    assert code == cli.EXIT_CONCLUSION_CHANGED
    assert "cohort added: y_bsi (earlier_treated, bsi)" in out
    assert "concl_pooled_with_p1 fell below 0.8 (0.83 → 0.78)" in out
    assert "now includes no effect (1)" in out
    assert "book/08_comparative (1 changed)" in out


def test_diff_of_a_file_with_itself_exits_zero(capsys, files):
    root, old, _ = files
    code, out, _ = run(capsys, "diff", old, old, "--root", root, "--json")
    report = json.loads(out)
    assert code == cli.EXIT_OK and report["conclusion_changes"] == [] and report["chapters"] == {}


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), ("{not json", "not JSON"), ('{"results": {"k": 1}}', "field 'results'")],
)
def test_diff_errors_stay_json(capsys, files, content, message):
    root, old, _ = files
    bad = root / "bad.json"
    if content is not None:
        bad.write_text(content)
    code, out, err = run(capsys, "diff", old, bad, "--root", root, "--json")
    assert code == cli.EXIT_USAGE
    answer = json.loads(out)
    assert answer["ok"] is False and message in answer["error"] and str(bad) in answer["error"]
    assert message in err


def test_diff_without_an_edition(capsys, tmp_path):
    code, out, _ = run(capsys, "diff", "--root", tmp_path, "--json")
    assert code == cli.EXIT_USAGE and "no edition stored" in json.loads(out)["error"]


def test_edition_is_written_once(capsys, files):
    root, _, new = files
    code, out, _ = run(capsys, "edition", "--root", root, "--version", "0.2.0", "--json")
    assert code == cli.EXIT_OK
    stored = json.loads((root / "editions" / "0.2.0.json").read_text())
    assert stored["edition"] == "0.2.0" and stored["results"] == json.loads(new.read_text())["results"]
    code, out, _ = run(capsys, "edition", "--root", root, "--version", "0.2.0", "--json")
    assert code == cli.EXIT_USAGE and "never rewritten" in json.loads(out)["error"]
    code, out, _ = run(capsys, "edition", "--root", root, "--version", "v2", "--json")
    assert code == cli.EXIT_USAGE and "not a version" in json.loads(out)["error"]


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["diff", "--help"])
    out, _ = capsys.readouterr()
    assert "exit 0" in out and "3:" in out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "3 (diff only) a conclusion-level change" in " ".join(capsys.readouterr().out.split())
