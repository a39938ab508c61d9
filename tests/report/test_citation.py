"""Front matter from CITATION.cff: authors, how to cite, the not-medical-advice statement."""

from __future__ import annotations

import pytest

from nkreport.report import citation

CFF = """cff-version: 1.2.0
title: "An example book."
authors:
  - family-names: Smith
    given-names: Jane Ann
    affiliation: University of Example
  - family-names: Lee
    given-names: Kim
    affiliation: University of Example
  - name: "Example Group"
version: 1.2.3
date-released: "2026-01-02"
references:
  - type: article
    title: "A trial."
    authors:
      - family-names: Ohira
        given-names: Masahiro
      - name: "and others"
    journal: "PLoS One"
    year: 2025
    volume: 20
    issue: 1
    doi: "10.1371/journal.pone.0313102"
"""


def test_authors_affiliations_and_citations_are_rendered_from_the_file(tmp_path):
    path = tmp_path / "CITATION.cff"
    path.write_text(CFF, encoding="utf-8")
    cff = citation.read_citation(path)
    assert citation.authors_line(cff) == "Smith JA, Lee K, Example Group (University of Example)"
    book, trial = citation.how_to_cite(cff)
    assert book == "Smith JA, Lee K, Example Group (University of Example) (2026). An example book. Version 1.2.3."
    assert trial == "Ohira M, et al. A trial. PLoS One 2025;20(1). doi:10.1371/journal.pone.0313102"


def test_the_projects_citation_file_reads_and_names_version_and_trial():
    from nkreport import __version__

    cff = citation.read_citation()
    assert str(cff["version"]) == __version__
    entries = citation.how_to_cite(cff)
    assert f"Version {__version__}." in entries[0]
    assert any("10.1371/journal.pone.0313102" in entry for entry in entries[1:])
    assert "not medical advice" in citation.NOT_MEDICAL_ADVICE


def test_a_missing_field_is_named(tmp_path):
    path = tmp_path / "CITATION.cff"
    path.write_text("cff-version: 1.2.0\ntitle: x\nauthors:\n  - name: y\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"CITATION.cff: field 'version' is missing"):
        citation.read_citation(path)
