"""Adversarial corpus, class 5: the commands never end in a traceback. Each bad request exits
with code 1 (invalid data) or 2 (usage), a message on stderr, and valid JSON on stdout with
``--json``; nothing is written or half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nkreport import cli

from adversarial import make_world


def run(*arguments, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nkreport.cli", *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def assert_clean_exit(done: subprocess.CompletedProcess, code: int, json_output: bool = False) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    if json_output:
        payload = json.loads(done.stdout)
        assert payload["ok"] is False


@pytest.fixture()
def world(tmp_path):
    return make_world(tmp_path)


def test_new_with_a_300_character_id(world):
    done = run("new", "a" * 300, "--data-dir", world[0], "--json")
    assert_clean_exit(done, cli.EXIT_USAGE, json_output=True)
    assert not list((world[0] / "cohorts").glob("a*"))


def test_new_on_a_read_only_data_folder(world, monkeypatch, capsys):
    real_open = Path.open

    def refuse(self, mode="r", *args, **kwargs):
        if "x" in mode or "w" in mode:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert cli.main(["new", "smith2026", "--data-dir", str(world[0]), "--json"]) == cli.EXIT_USAGE
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert not (world[0] / "cohorts" / "smith2026.csv").exists()


@pytest.mark.parametrize("n", ["-5", "0", "100000000"])
def test_simulate_ipd_with_an_impossible_size(tmp_path, n):
    done = run("simulate-ipd", "--n", n, "--out", tmp_path, "--json")
    assert_clean_exit(done, cli.EXIT_USAGE, json_output=True)
    assert not list(tmp_path.iterdir())


def test_validate_json_when_a_sidecar_is_a_folder(world):
    sidecar = world[0] / "cohorts" / "shimizu2022.json"
    sidecar.unlink()
    sidecar.mkdir()
    done = run("validate", world[0], "--bib", world[1], "--json")
    assert_clean_exit(done, cli.EXIT_INVALID, json_output=True)
    assert any("folder" in p["message"] for p in json.loads(done.stdout)["problems"])


def test_validate_a_file_that_does_not_exist(tmp_path):
    assert_clean_exit(run("validate", tmp_path / "nothing.csv", "--json"), cli.EXIT_USAGE, json_output=True)


def test_unknown_argument_with_json():
    assert_clean_exit(run("validate", "--no-such-flag", "--json"), cli.EXIT_USAGE, json_output=True)


@pytest.mark.parametrize("content", ['{"chapters": {"book/01_trial": {"sou', "", "[]", '{"chapters": {"x": 1}}'])
def test_status_after_a_build_killed_while_writing_its_record(tmp_path, root, content):
    build = tmp_path / "_build"
    build.mkdir()
    (build / "nkreport-inputs.json").write_text(content, encoding="utf-8")
    done = run("status", "--root", root, "--build-dir", build, "--json")
    assert done.returncode in (cli.EXIT_OK, cli.EXIT_INVALID) and "Traceback" not in done.stderr
    json.loads(done.stdout)


@pytest.mark.parametrize("value", ["٣", "３", "²"])
def test_validate_with_foreign_digits_never_crashes(world, value):
    path = world[0] / "cohorts" / "ohira2025_trial.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[1].split(",")
    fields[6] = value
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run("validate", world[0], "--bib", world[1], "--json")
    assert_clean_exit(done, cli.EXIT_INVALID, json_output=True)
