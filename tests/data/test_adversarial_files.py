"""Adversarial corpus, class 3: files and rules across files. Hidden and backup files, a second
trial row, a study id reused by another file or a second arm, citation keys that are not
entries, sidecars that are duplicated, deep, folders or symbolic-link loops."""

from __future__ import annotations

import json

import pytest

from nkreport import data

from adversarial import csv_text, example_row, make_world, problems_of, refused, write_cohort


@pytest.fixture()
def world(tmp_path):
    return make_world(tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        ".hidden2026.csv",
        "smith2026.csv~",
        "smith2026.csv.bak",
        "#smith2026.csv#",
        ".smith2026.csv.swp",
        "smith2026.orig.csv.orig",
    ],
)
def test_hidden_and_backup_files_are_refused_and_never_analysed(world, name):
    path = world[0] / "cohorts" / name
    path.write_text(csv_text([example_row()]), encoding="utf-8")
    refused(problems_of(world), file=f"cohorts/{name}", line=None, field=None)
    assert path not in data.cohort_files(world[0])


def test_files_that_are_not_data_are_ignored(world):
    (world[0] / "cohorts" / ".gitkeep").write_text("", encoding="utf-8")
    (world[0] / "cohorts" / ".DS_Store").write_bytes(b"\0\1")
    assert problems_of(world) == []


def test_a_second_trial_row_for_an_outcome_is_refused(world):
    write_cohort(world[0], "fixture", [example_row(role="trial", arm="nk", n=19, events=3)])
    problem = refused(problems_of(world), file="cohorts/fixture.csv", line=2, field="role")
    assert "2 'trial' rows" in problem.message and "ohira2025_trial.csv" in problem.message


def test_a_study_id_of_another_file_is_refused(world):
    write_cohort(world[0], "fixture", [example_row(study_id="hiroshima2011", role="earlier_treated", arm="nk")])
    problem = refused(problems_of(world), file="cohorts/fixture.csv", line=2, field="study_id")
    assert "hiroshima2011_matched.csv" in problem.message


def test_a_second_arm_of_the_same_kind_in_one_study_is_refused(world):
    rows = [example_row(cohort_id="fixture_a"), example_row(cohort_id="fixture_b")]
    write_cohort(world[0], "fixture", rows)
    refused(problems_of(world), file="cohorts/fixture.csv", line=3, field="study_id")


def test_a_citation_key_only_inside_a_comment_is_not_an_entry(world):
    with world[1].open("a", encoding="utf-8") as bib:
        bib.write("\n@comment{@misc{ghost2026, title={not an entry}}}\n@string{ghost2027 = {a string}}\n")
    write_cohort(world[0], "fixture", [example_row()], references=["ghost2026"])
    refused(problems_of(world), file="cohorts/fixture.json", line=None, field="references")
    assert data.parse_bibtex_keys("@comment{@misc{a,}} @misc{b, note={@article{c,}}} @string{d={e}}") == {"b"}


def test_duplicate_key_in_a_sidecar_is_refused(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    text = path.with_suffix(".json").read_text(encoding="utf-8")
    path.with_suffix(".json").write_text(text[:-1] + ', "title": "a second title"}', encoding="utf-8")
    problem = refused(problems_of(world), file="cohorts/fixture.json", line=1, field="title")
    assert "more than once" in problem.message


def test_a_deeply_nested_sidecar_is_refused_without_recursion(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.with_suffix(".json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    problem = refused(problems_of(world), file="cohorts/fixture.json", line=None, field=None)
    assert "nested" in problem.message


@pytest.mark.parametrize("content", ['{"title": NaN}', '{"title": Infinity}', "\ufeff{}"])
def test_non_standard_json_is_refused(world, content):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.with_suffix(".json").write_text(content, encoding="utf-8")
    assert any(p.file.endswith("cohorts/fixture.json") for p in problems_of(world))


def test_a_sidecar_that_is_a_folder(world):
    path = write_cohort(world[0], "fixture", [example_row()])
    path.with_suffix(".json").unlink()
    path.with_suffix(".json").mkdir()
    problem = refused(problems_of(world), file="cohorts/fixture.json", line=None, field=None)
    assert "folder" in problem.message


def test_symbolic_link_loops(world):
    folder = world[0] / "cohorts"
    (folder / "loop.csv").symlink_to(folder / "loop2.csv")
    (folder / "loop2.csv").symlink_to(folder / "loop.csv")
    problems = problems_of(world)
    assert any(p.file.endswith("cohorts/loop.csv") for p in problems), [str(p) for p in problems]


def test_a_cohort_file_that_is_not_readable_as_csv(world):
    (world[0] / "cohorts" / "huge.csv").write_text("cohort_id\n\"" + "x" * 200_000 + "\"\n", encoding="utf-8")
    (world[0] / "cohorts" / "huge.json").write_text(json.dumps({}), encoding="utf-8")
    assert any(p.file.endswith("cohorts/huge.csv") for p in problems_of(world))
