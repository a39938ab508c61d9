"""The tutorial's scratch copy is writable whatever the permissions of the data folder, and
leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import stat

from nkreport.report import tutorial


def test_scratch_copy_of_read_only_data_is_writable(tmp_path, root):
    source = tmp_path / "data"
    shutil.copytree(root / "data", source)
    for path in [source, *source.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        workspace, copy, bib = tutorial.scratch_copy(source, root / "book" / "references.bib")
        assert (copy / "cohorts" / "ohira2025_trial.csv").read_bytes() == (
            root / "data" / "cohorts" / "ohira2025_trial.csv"
        ).read_bytes()
        for path in [copy, *copy.rglob("*")]:
            mode = path.stat().st_mode
            assert mode & stat.S_IWUSR, path
        assert not (copy / "simulated").exists()
        assert os.access(bib, os.W_OK)
    finally:
        for path in [source, *source.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(workspace)


def test_scratch_copy_removes_itself_when_copying_fails(tmp_path, monkeypatch):
    made = []
    real = tutorial.tempfile.mkdtemp

    def remember(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tutorial.tempfile, "mkdtemp", remember)
    try:
        tutorial.scratch_copy(tmp_path / "no-such-data", tmp_path / "no.bib")
    except OSError:
        pass
    assert made and not os.path.exists(made[0])
