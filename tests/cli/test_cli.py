"""The ``nkreport`` command: exit codes, messages for people and JSON for scripts."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nkreport import cli, paths
from nkreport.build import fingerprints as hooks
from nkreport.data import patient_level
from nkreport.data.schema import COHORT_COLUMNS

ROOT = paths.project_root()


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "data", tmp_path / "data")
    return tmp_path / "data"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_shipped_data(capsys):
    code, out, _ = run(capsys, "validate", "--json")
    assert code == cli.EXIT_OK
    assert json.loads(out) == {"path": str(paths.data_dir()), "ok": True, "problems": []}


def test_validate_invalid_copy(capsys, data_copy):
    path = data_copy / "cohorts" / "hiroshima2011_matched.csv"
    path.write_text(path.read_text().replace(",1,21,90,", ",22,21,90,"), encoding="utf-8")
    code, out, _ = run(capsys, "validate", data_copy)
    assert code == cli.EXIT_INVALID
    assert "hiroshima2011_matched.csv, line 2, field 'events'" in out and "Fix:" in out
    code, out, _ = run(capsys, "validate", data_copy, "--json")
    problem = json.loads(out)["problems"][0]
    assert (problem["line"], problem["field"]) == (2, "events")
    code, out, _ = run(capsys, "validate", path, "--json")
    assert code == cli.EXIT_INVALID and len(json.loads(out)["problems"]) == 1


def test_validate_one_valid_file(capsys):
    code, out, _ = run(capsys, "validate", ROOT / "data" / "cohorts" / "ohira2025_trial.csv")
    assert code == cli.EXIT_OK and "valid" in out


def test_validate_missing_path_is_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "validate", tmp_path / "nothing")
    assert code == cli.EXIT_USAGE and "does not exist" in err


def test_unknown_command_is_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["frobnicate"])
    assert caught.value.code == cli.EXIT_USAGE


def test_new_writes_template_listing_every_field(capsys, data_copy):
    code, out, _ = run(capsys, "new", "smith2026", "--data-dir", data_copy, "--json")
    assert code == cli.EXIT_OK
    written = json.loads(out)
    text = Path(written["csv"]).read_text()
    header, row = text.splitlines()
    assert header.split(",") == [s.name for s in COHORT_COLUMNS]
    cells = dict(zip(header.split(","), next(csv.reader([row])), strict=False))
    for spec in COHORT_COLUMNS:
        if spec.required and spec.name not in ("cohort_id", "study_id"):
            assert cells[spec.name].startswith(cli.FILL), spec.name
        elif not spec.required:
            assert cells[spec.name] == ""
    assert set(written["required_fields"]) == {s.name for s in COHORT_COLUMNS if s.required}
    sidecar = json.loads(Path(written["sidecar"]).read_text())
    assert sidecar["columns"] == header.split(",") and sidecar["cohort_ids"] == ["smith2026_arm_outcome"]
    # an unfilled template cannot pass validation: every required field is flagged
    code, out, _ = run(capsys, "validate", data_copy, "--json")
    assert code == cli.EXIT_INVALID
    flagged = {p["field"] for p in json.loads(out)["problems"]}
    required = {s.name for s in COHORT_COLUMNS if s.required} - {"cohort_id", "study_id"}
    assert required <= flagged


def test_new_refuses_to_overwrite(capsys, data_copy):
    before = (data_copy / "cohorts" / "shimizu2022.csv").read_bytes()
    code, _, err = run(capsys, "new", "shimizu2022", "--data-dir", data_copy)
    assert code == cli.EXIT_USAGE and "already exists" in err
    assert (data_copy / "cohorts" / "shimizu2022.csv").read_bytes() == before
    assert not (data_copy / "cohorts" / "shimizu2022.json").read_text() == ""


def test_new_rejects_bad_id(capsys, data_copy):
    code, _, err = run(capsys, "new", "Smith 2026", "--data-dir", data_copy)
    assert code == cli.EXIT_USAGE and "not a valid study id" in err
    assert not list((data_copy / "cohorts").glob("Smith*"))


def test_filled_template_validates(capsys, data_copy):
    csv_path, json_path = cli.new_cohort("fixture2026", data_copy)
    values = {s.name: s.example for s in COHORT_COLUMNS}  # TEST FIXTURE values, not data
    values.update(
        cohort_id="fixture2026_control_bsi",
        study_id="fixture2026",
        study="Test fixture",
        arm="control",
        role="external_baseline",
        printed_percent="",
    )
    csv_path.write_text(
        ",".join(s.name for s in COHORT_COLUMNS) + "\n" + ",".join(values[s.name] for s in COHORT_COLUMNS) + "\n",
        encoding="utf-8",
    )
    sidecar = json.loads(json_path.read_text())
    sidecar.update(title="Test fixture.", references=["ohira2025"], cohort_ids=["fixture2026_control_bsi"])
    json_path.write_text(json.dumps(sidecar))
    code, out, _ = run(capsys, "validate", data_copy)
    assert code == cli.EXIT_OK, out
    code, out, _ = run(capsys, "list", "--data-dir", data_copy, "--json")
    ids = [c["cohort_id"] for c in json.loads(out)["cohorts"]]
    assert "fixture2026_control_bsi" in ids


def test_list(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == cli.EXIT_OK
    cohorts = {c["cohort_id"]: c for c in json.loads(out)["cohorts"]}
    trial = cohorts["ohira2025_bsi"]
    assert (trial["role"], trial["outcome"], trial["window_days"], trial["verified"]) == ("trial", "bsi", 30, "yes")
    assert cohorts["kimsi2009_bsi"]["window_days"] is None
    assert "shimizu2022m_nk_bsi" not in cohorts
    code, out, _ = run(capsys, "list", "--all", "--json")
    assert "shimizu2022m_nk_bsi" in {c["cohort_id"] for c in json.loads(out)["cohorts"]}
    code, out, _ = run(capsys, "list")
    assert "not stated" in out and "ohira2025_bsi" in out


def test_list_invalid_data(capsys, data_copy):
    (data_copy / "cohorts" / "lee.csv").write_text("")
    code, out, _ = run(capsys, "list", "--data-dir", data_copy)
    assert code == cli.EXIT_INVALID and "lee.csv" in out


CHAPTER = """---
nkreport_depends: [{groups}]
---

# A chapter

```{{code-cell}} ipython3
print(1)
```
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A small project: the data, the package and two chapters with different inputs."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "nkreport", tmp_path / "nkreport", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "reads_cohorts.md").write_text(CHAPTER.format(groups="cohorts"))
    (tmp_path / "book" / "reads_trial.md").write_text(CHAPTER.format(groups="trial"))
    (tmp_path / "book" / "prose.md").write_text("# Prose only\n")
    (tmp_path / "_config.yml").write_text("title: test\n")
    docs = {f"book/{p.stem}": p for p in (tmp_path / "book").glob("*.md")}
    record = {"chapters": hooks.chapter_inputs(tmp_path, docs)}
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / hooks.INPUTS_FILE).write_text(json.dumps(record))
    return tmp_path


def test_status_nothing_changed(capsys, project):
    code, out, _ = run(capsys, "status", "--root", project, "--json")
    status = json.loads(out)
    assert code == cli.EXIT_OK and status["reexecute"] == [] and status["data_valid"]
    assert set(status["chapters"]) == {"book/reads_cohorts", "book/reads_trial"}


def test_status_after_cohort_change(capsys, project):
    path = project / "data" / "cohorts" / "external_bsi.csv"
    path.write_text(path.read_text().replace("bacteremia within one month", "bacteraemia within one month"))
    code, out, _ = run(capsys, "status", "--root", project, "--json")
    status = json.loads(out)
    assert status["reexecute"] == ["book/reads_cohorts"]
    assert status["chapters"]["book/reads_cohorts"]["reasons"] == ["inputs changed: cohorts (data/cohorts/)"]
    code, out, _ = run(capsys, "status", "--root", project)
    assert "re-execute book/reads_cohorts" in out and "cached     book/reads_trial" in out


def test_status_after_chapter_edit_and_invalid_data(capsys, project):
    (project / "book" / "reads_trial.md").write_text(CHAPTER.format(groups="trial") + "\nMore.\n")
    (project / "data" / "trial" / "design.csv").write_text("")
    code, out, _ = run(capsys, "status", "--root", project, "--json")
    status = json.loads(out)
    assert code == cli.EXIT_INVALID and not status["data_valid"]
    assert "book/reads_trial" in status["reexecute"]
    assert "chapter source changed" in status["chapters"]["book/reads_trial"]["reasons"]


def test_status_without_previous_build(capsys, project):
    shutil.rmtree(project / "_build")
    code, out, _ = run(capsys, "status", "--root", project)
    assert code == cli.EXIT_OK and "every chapter" in out


def test_simulate_ipd_reproduces_shipped_file(capsys, tmp_path):
    code, out, _ = run(capsys, "simulate-ipd", "--out", tmp_path, "--json")
    assert code == cli.EXIT_OK
    written = Path(json.loads(out)["csv"])
    assert written.name.startswith("SIMULATED")
    shipped = ROOT / "data" / "simulated" / patient_level.SIMULATED_FILE
    assert written.read_bytes() == shipped.read_bytes()
    assert written.with_suffix(".json").read_bytes() == shipped.with_suffix(".json").read_bytes()


def test_console_script():
    exe = Path(sys.executable).with_name("nkreport")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "nkreport.cli"]
    done = subprocess.run(command + ["validate", "--json"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and json.loads(done.stdout)["ok"]
    done = subprocess.run(command + ["new"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2


def test_status_does_not_load_sphinx(tmp_path):
    """The fingerprints are Sphinx-free: `nkreport status` never imports Sphinx."""
    import subprocess
    import sys

    code = (
        "import sys; from nkreport import cli; cli.main(['status', '--json']); "
        "print('SPHINX' if any(m == 'sphinx' or m.startswith('sphinx.') for m in sys.modules) else 'NO-SPHINX')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip().endswith("NO-SPHINX"), done.stdout + done.stderr
