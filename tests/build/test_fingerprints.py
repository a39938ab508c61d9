"""The build hooks: dependency declaration, fingerprints, injection into the first code cell."""

from __future__ import annotations

import shutil

from nkreport.build import fingerprints as ext

CHAPTER = """---
kernelspec:
  name: python3
nkreport_depends: [cohorts]
---

# Title

```{code-cell} ipython3
:tags: [remove-cell]
import nkreport
```
"""


def test_dependencies_declared_and_default():
    assert ext.chapter_dependencies(CHAPTER) == ("cohorts", "package")
    assert ext.chapter_dependencies(CHAPTER.replace("nkreport_depends: [cohorts]\n", "")) == ext.DEFAULT_GROUPS
    assert ext.chapter_dependencies("# no code\n") is None


def test_the_validation_pins_are_an_opt_in_group(tmp_path):
    """Only a chapter that declares ``validation`` (the validation appendix) re-executes when a
    pinned peer value changes."""
    assert "validation" not in ext.DEFAULT_GROUPS
    declared = CHAPTER.replace("[cohorts]", "[package, validation]")
    assert ext.chapter_dependencies(declared) == ("package", "validation")
    (tmp_path / "validation" / "tool").mkdir(parents=True)
    pinned = tmp_path / "validation" / "tool" / "reference.json"
    pinned.write_text("{}", encoding="utf-8")
    before = ext.group_fingerprint(tmp_path, "validation")
    pinned.write_text('{"x": 1}', encoding="utf-8")
    assert ext.group_fingerprint(tmp_path, "validation") != before


def test_injection_goes_after_cell_options():
    out = ext.inject_fingerprint(CHAPTER, "abc")
    lines = out.splitlines()
    index = lines.index(":tags: [remove-cell]")
    assert lines[index + 1] == ext.FINGERPRINT_PREFIX + "abc"
    assert lines[index + 2] == "import nkreport"


def test_injection_with_yaml_options_block():
    source = "```{code-cell} ipython3\n---\ntags: [x]\n---\nprint(1)\n```\n"
    out = ext.inject_fingerprint(source, "f")
    assert out.splitlines()[4] == ext.FINGERPRINT_PREFIX + "f"
    assert out.splitlines()[5] == "print(1)"


def test_fingerprint_follows_data_and_reverts(tmp_path, root):
    shutil.copytree(root / "data", tmp_path / "data")
    shutil.copytree(root / "nkreport", tmp_path / "nkreport", ignore=shutil.ignore_patterns("__pycache__"))
    groups = ("cohorts", "package")
    before = ext.chapter_fingerprint(tmp_path, groups)
    trial_only = ext.chapter_fingerprint(tmp_path, ("trial", "package"))
    path = tmp_path / "data" / "cohorts" / "ohira2025_trial.csv"
    original = path.read_text()
    path.write_text(original.replace(",bsi,6,19,", ",bsi,7,19,"))
    assert ext.chapter_fingerprint(tmp_path, groups) != before
    assert ext.chapter_fingerprint(tmp_path, ("trial", "package")) == trial_only
    path.write_text(original)
    assert ext.chapter_fingerprint(tmp_path, groups) == before


def test_validation_key_follows_data_and_bibliography(tmp_path, root, monkeypatch):
    shutil.copytree(root / "data", tmp_path / "data")
    (tmp_path / "book").mkdir()
    shutil.copy(root / "book" / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "_config.yml").write_text("title: t\n")
    monkeypatch.setenv("NKREPORT_ROOT", str(tmp_path))
    monkeypatch.delenv("NKREPORT_DATA", raising=False)
    first = ext.validation_key()
    assert ext.validation_key() == first
    path = tmp_path / "data" / "cohorts" / "ohira2025_trial.csv"
    path.write_text(path.read_text().replace(",bsi,6,19,", ",bsi,7,19,"))
    second = ext.validation_key()
    assert second != first
    bib = tmp_path / "book" / "references.bib"
    bib.write_text(bib.read_text() + "\n")
    assert ext.validation_key() != second
