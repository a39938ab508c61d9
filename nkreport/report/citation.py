"""The book's front matter from ``CITATION.cff``: who wrote it, which version, how to cite it.

``CITATION.cff`` (Citation File Format, YAML) is the one place the authors, version and the
reference to the trial are written; the provenance page renders them with :func:`how_to_cite`
and :func:`authors_line`, so the book and the file never disagree.
"""

from __future__ import annotations

from pathlib import Path

from .. import paths

CITATION_FILE = "CITATION.cff"

#: Printed in the book's front matter.
NOT_MEDICAL_ADVICE = (
    "This book is a statistical re-analysis of published summary data for researchers and "
    "clinicians. It is not medical advice and not a guideline: decisions about a patient's care "
    "belong to the patient and their clinicians."
)


def read_citation(path: str | Path | None = None) -> dict:
    """The parsed ``CITATION.cff`` (default: the project's). Raises ``ValueError`` naming the
    file and the missing field when ``title``, ``authors`` or ``version`` is absent."""
    import yaml

    path = Path(path) if path is not None else paths.project_root() / CITATION_FILE
    cff = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(cff, dict):
        raise ValueError(f"{path}: not a mapping of CITATION.cff fields")
    for field in ("title", "authors", "version"):
        if not cff.get(field):
            raise ValueError(f"{path}: field {field!r} is missing; add it (see citation-file-format.github.io)")
    return cff


def _person(person: dict) -> str:
    """One author as printed: 'Family G.' (initials of the given names), or an entity's name."""
    if person.get("family-names"):
        initials = "".join(part[0] for part in str(person.get("given-names", "")).replace("-", " ").split())
        return f"{person['family-names']} {initials}".strip()
    return str(person.get("name", "")).strip()


def _affiliations(authors: list[dict]) -> list[str]:
    seen: list[str] = []
    for person in authors:
        affiliation = str(person.get("affiliation", "")).strip()
        if affiliation and affiliation not in seen:
            seen.append(affiliation)
    return seen


def authors_line(cff: dict) -> str:
    """The authors and, where the file gives them, their affiliations:
    'The nkreport authors' or 'Smith J, Lee K (University of X)'."""
    authors = cff.get("authors", [])
    names = ", ".join(_person(p) for p in authors if _person(p))
    affiliations = _affiliations(authors)
    return f"{names} ({'; '.join(affiliations)})" if affiliations else names


def _reference(reference: dict) -> str:
    """A cited work: authors (an 'and others' entry becomes 'et al.'), title, journal, year,
    volume(issue), DOI."""
    people = [p for p in reference.get("authors", []) if str(p.get("name", "")).strip().lower() != "and others"]
    etal = len(people) < len(reference.get("authors", []))
    names = ", ".join(_person(p) for p in people) + (", et al." if etal else "")
    parts = [names.rstrip(".") + "." if names else "", f"{reference.get('title', '').rstrip('.')}."]
    journal = reference.get("journal")
    if journal:
        issue = f"({reference['issue']})" if reference.get("issue") else ""
        volume = f";{reference['volume']}{issue}" if reference.get("volume") else ""
        parts.append(f"{journal} {reference.get('year', '')}{volume}.")
    if reference.get("doi"):
        parts.append(f"doi:{reference['doi']}")
    return " ".join(p for p in parts if p)


def how_to_cite(cff: dict) -> list[str]:
    """How to cite the book, then each work the file asks to be cited with it (its
    ``references``), one plain-text entry each."""
    year = str(cff.get("date-released", ""))[:4]
    book = f"{authors_line(cff)}" + (f" ({year})." if year else ".")
    book += f" {str(cff['title']).rstrip('.')}. Version {cff['version']}."
    if cff.get("doi"):
        book += f" doi:{cff['doi']}"
    elif cff.get("url") or cff.get("repository-code"):
        book += f" {cff.get('url') or cff.get('repository-code')}"
    return [book.strip(), *(_reference(r) for r in cff.get("references", []))]
