"""The build hooks: dependency declaration, fingerprints, injection into the first code cell."""

from __future__ import annotations

import shutil

import pytest

from nkreport import cohort_rows
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


# TEST FIXTURE rows, not data: a hypothetical external rejection baseline and BSI baseline.
REJECTION_ROW = (
    "fixture_rejection,fixture,TEST FIXTURE,control,external_baseline,rejection,3,30,,,test fixture,primary,"
    "doi:10.0000/test-fixture,test fixture,unverified,test fixture\n"
)
BSI_ROW = REJECTION_ROW.replace("fixture_rejection", "fixture_bsi").replace(",rejection,", ",bsi,")


def _append_row(tmp_path, row):
    path = tmp_path / "data" / "cohorts" / "external_rejection.csv"
    path.write_text(path.read_text() + row)


def test_row_selectors_cover_exactly_their_rows(tmp_path, root):
    shutil.copytree(root / "data", tmp_path / "data")
    selectors = (
        "cohorts/outcome=bsi",
        "cohorts/role=trial",
        "cohorts/outcome=rejection",
        "cohorts/outcome=rejection/role=external_baseline",
        "cohorts/outcome=rejection|related_ae/role=trial",
    )

    def prints():
        return {s: ext.dependency_fingerprint(tmp_path, s) for s in selectors}

    first = prints()
    # an external rejection baseline: only the selectors that pick rejection or external rows
    _append_row(tmp_path, REJECTION_ROW)
    second = prints()
    changed = {s for s in selectors if first[s] != second[s]}
    assert changed == {"cohorts/outcome=rejection", "cohorts/outcome=rejection/role=external_baseline"}
    # a field of one trial row: only the selectors that pick it
    trial = tmp_path / "data" / "cohorts" / "ohira2025_trial.csv"
    trial.write_text(trial.read_text().replace(",rejection,7,19,", ",rejection,8,19,"))
    third = prints()
    assert {s for s in selectors if third[s] != second[s]} == {
        "cohorts/role=trial",
        "cohorts/outcome=rejection",
        "cohorts/outcome=rejection|related_ae/role=trial",
    }
    # a BSI row in a file of rejection rows: now that file's sidecar is read by BSI readers too
    _append_row(tmp_path, BSI_ROW)
    assert ext.dependency_fingerprint(tmp_path, "cohorts/outcome=bsi") != third["cohorts/outcome=bsi"]


def test_a_file_not_readable_as_a_cohort_table_changes_every_selector(tmp_path, root):
    shutil.copytree(root / "data", tmp_path / "data")
    before = ext.dependency_fingerprint(tmp_path, "cohorts/role=trial")
    (tmp_path / "data" / "cohorts" / "broken.csv").write_bytes(b"\xff\xfe not a table")
    assert ext.dependency_fingerprint(tmp_path, "cohorts/role=trial") != before


def test_selector_declarations_are_checked():
    chapter = CHAPTER.replace("[cohorts]", "[cohorts/outcome=bsi, trial]")
    assert ext.chapter_dependencies(chapter) == ("cohorts/outcome=bsi", "package", "trial")
    # the whole folder already covers a selector
    both = CHAPTER.replace("[cohorts]", "[cohorts, cohorts/role=trial]")
    assert ext.chapter_dependencies(both) == ("cohorts", "package")
    for bad in ("cohorts/outcome=bsi_typo", "cohorts/arm=nk", "cohorts/outcome"):
        with pytest.raises(ext.DependencyError, match="nkreport_depends"):
            ext.chapter_dependencies(CHAPTER.replace("[cohorts]", f"[{bad}]"))
    assert ext.describe_dependency("cohorts/outcome=bsi/role=trial") == "cohort rows with outcome bsi and role trial"


def test_selector_fields_follow_the_schema():
    from nkreport.data import schema

    assert cohort_rows.SELECTOR_FIELDS == {"role": schema.ROLES, "outcome": schema.OUTCOMES}


def test_cohort_rows_and_their_comparison(tmp_path, root):
    shutil.copytree(root / "data", tmp_path / "data")
    folder = tmp_path / "data" / "cohorts"
    before = cohort_rows.cohort_rows(folder)
    assert before["ohira2025_bsi"]["role"] == "trial" and before["ohira2025_bsi"]["outcome"] == "bsi"
    _append_row(tmp_path, REJECTION_ROW)
    trial = folder / "ohira2025_trial.csv"
    trial.write_text(trial.read_text().replace(",rejection,7,19,", ",rejection,8,19,"))
    (folder / "shimizu2022.csv").unlink()
    after = cohort_rows.cohort_rows(folder)
    changes = cohort_rows.compare_rows(before, after)
    assert changes["added"] == ["fixture_rejection"]
    assert changes["changed"] == ["ohira2025_rejection"]
    assert changes["removed"] == sorted(k for k in before if k.startswith("shimizu2022"))
    assert cohort_rows.selects("cohorts/outcome=rejection/role=external_baseline", after["fixture_rejection"])
    assert not cohort_rows.selects("cohorts/outcome=bsi", after["fixture_rejection"])
