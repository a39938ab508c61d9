"""Editions and their comparison (``nkreport.report.editions``): the conclusion-level changes
against hand-worked cases, the grouping by chapter, the order of editions and the words of the
page on what changed."""

from __future__ import annotations

import json

import pytest

from nkreport.report import editions

HEAD = "book/11_conclusion"


def entry(value, text=None, chapter=HEAD):
    return {"value": value, "text": text if text is not None else str(value), "chapter": chapter}


@pytest.mark.parametrize(
    "before, after, crossed",
    [(0.49, 0.51, [0.5]), (0.79, 0.96, [0.8, 0.95]), (0.96, 0.81, [0.95]), (0.81, 0.94, []), (0.5, 0.5, [])],
)
def test_probability_crossings(before, after, crossed):
    changes = editions.conclusion_changes({"concl_new_with_p1": entry(before)}, {"concl_new_with_p1": entry(after)})
    assert [c["threshold"] for c in changes] == crossed


def test_p_values_and_values_outside_the_headline_are_not_probabilities_of_benefit():
    old = {"concl_box_p": entry(0.4), "cmp_pooled_with_p1": entry(0.4, chapter="book/08_comparative")}
    new = {"concl_box_p": entry(0.9), "cmp_pooled_with_p1": entry(0.9, chapter="book/08_comparative")}
    assert editions.conclusion_changes(old, new) == []


def test_intervals_and_no_effect():
    old = {"concl_pooled_with_or": entry(0.5), "concl_pooled_with_ci": entry([0.2, 0.95])}
    new = {"concl_pooled_with_or": entry(0.6), "concl_pooled_with_ci": entry([0.3, 1.05])}
    (change,) = editions.conclusion_changes(old, new)
    assert change["kind"] == "interval and no effect" and change["no_effect"] == 1.0
    assert "now includes no effect" in change["description"]
    # a risk difference: no effect is 0
    old = {"concl_abs_low_ci": entry([-10.0, 2.0])}
    new = {"concl_abs_low_ci": entry([-12.0, -1.0])}
    (change,) = editions.conclusion_changes(old, new)
    assert change["no_effect"] == 0.0 and "no longer includes" in change["description"]
    # an interval of a rate has no 'no effect'
    assert editions.conclusion_changes({"concl_bsi_ci": entry([0.1, 0.5])}, {"concl_bsi_ci": entry([0.2, 0.6])}) == []


def test_certainty_ratings():
    old = {"concl_certainty_bsi": entry("low"), "concl_certainty_start": entry("low")}
    new = {"concl_certainty_bsi": entry("very low"), "concl_certainty_start": entry("moderate")}
    (change,) = editions.conclusion_changes(old, new)
    assert change["kind"] == "certainty rating" and change["after"] == "very low"


def test_compare_groups_by_chapter_and_keeps_headline_apart():
    old = {"results": {"concl_x": entry(1), "a": entry(1, chapter="book/02"), "gone": entry(0, chapter="book/03")}}
    new = {
        "results": {
            "concl_x": entry(2),
            "a": entry(1, "1.0", chapter="book/02"),
            "fresh": entry(0, chapter="book/03"),
            "whatsnew_x": entry(5, chapter="book/whats_new"),
        }
    }
    out = editions.compare(old, new)
    assert out["headline"]["changed"][0]["key"] == "concl_x"
    assert out["chapters"]["book/02"]["changed"][0]["after_text"] == "1.0"
    assert out["chapters"]["book/03"] == {"added": ["fresh"], "removed": ["gone"], "changed": []}
    assert "book/whats_new" not in out["chapters"] and out["cohorts"] is None
    assert not editions.is_unchanged(out) and editions.is_unchanged(editions.compare(old, old))


def test_editions_in_version_order(tmp_path):
    folder = tmp_path / "editions"
    folder.mkdir()
    for name in ("0.9.0", "0.10.0", "0.2.1", "notes"):
        (folder / f"{name}.json").write_text("{}")
    assert [p.stem for p in editions.list_editions(tmp_path)] == ["0.2.1", "0.9.0", "0.10.0"]
    assert editions.previous_edition(tmp_path, version="1.0.0").stem == "0.10.0"
    # the build of a stored edition compares with the one before it, not with itself
    assert editions.previous_edition(tmp_path, version="0.10.0").stem == "0.9.0"
    assert editions.previous_edition(tmp_path, version="0.2.1") is None
    assert editions.previous_edition(tmp_path / "elsewhere") is None


def test_load_results_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"results": {"k": {"value": 1}}}))
    with pytest.raises(editions.EditionError, match="r.json: field 'results' missing or malformed"):
        editions.load_results(bad)


def test_words_of_the_page():
    alone = editions.summary_in_words(None, None)
    assert "No earlier edition" in alone["edition"] and all(alone.values())
    old = {"results": {"concl_new_with_p1": entry(0.7)}, "cohort_rows": {}}
    new = {
        "results": {"concl_new_with_p1": entry(0.85)},
        "cohort_rows": {"z_bsi": {"role": "external_baseline", "outcome": "bsi", "study": "Z", "sha": "1"}},
    }
    comparison = editions.compare(old, new)
    words = editions.summary_in_words("0.1.0", comparison)
    assert words["cohorts"] == "Cohort rows added: z_bsi; removed: none; changed: none."
    assert words["headline"] == "1 of the conclusion's quantities moved."
    assert "rose above 0.8" in words["conclusion"]
    table = editions.cohort_changes_table(comparison, old, new)
    assert table.to_dict("records") == [
        {
            "Change": "added",
            "Cohort": "z_bsi",
            "Study": "Z",
            "Role": "external baseline (no NK)",
            "Outcome": "bloodstream infection",
        }
    ]
    assert editions.headline_table(comparison)["After"].tolist() == ["0.85"]
