"""Provenance: file hashes against published SHA-256 test vectors and the sha256sum tool."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess

import pytest

from nkreport import SEED, paths
from nkreport.data import provenance

# FIPS 180-2, appendix B: SHA-256 of "abc" and of the 448-bit two-block message.
FIPS_VECTORS = {
    b"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq": "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",  # noqa: E501
    b"": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}


@pytest.mark.parametrize("content,expected", list(FIPS_VECTORS.items()))
def test_file_sha256_matches_published_vectors(tmp_path, content, expected):
    path = tmp_path / "message.bin"
    path.write_bytes(content)
    assert provenance.file_sha256(path) == expected


def test_file_sha256_reads_files_larger_than_one_chunk(tmp_path):
    # one million "a": the long message of FIPS 180-2, appendix B.3
    path = tmp_path / "million.bin"
    path.write_bytes(b"a" * 1_000_000)
    assert provenance.file_sha256(path) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_data_hashes_agree_with_sha256sum():
    hashes = provenance.data_hashes()
    root = paths.project_root()
    output = subprocess.run(["sha256sum", *hashes["file"]], cwd=root, check=True, capture_output=True, text=True).stdout
    reference = {line.split()[1]: line.split()[0] for line in output.splitlines()}
    assert dict(zip(hashes["file"], hashes["sha256"], strict=False)) == reference


def test_data_hashes_cover_every_data_file():
    data_dir = paths.data_dir()
    on_disk = sorted(
        ("data/" + p.relative_to(data_dir).as_posix())
        for p in data_dir.rglob("*")
        if p.is_file() and p.suffix in {".csv", ".json"}
    )
    hashes = provenance.data_hashes()
    assert sorted(hashes["file"]) == on_disk
    assert len(on_disk) > 0
    assert (hashes["bytes"] > 0).all()
    assert hashes["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_data_fingerprint_changes_with_any_byte_and_is_stable(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(paths.data_dir(), copy)
    first = provenance.data_fingerprint(provenance.data_hashes(copy))
    assert first == provenance.data_fingerprint(provenance.data_hashes(copy))
    assert first == provenance.data_fingerprint(provenance.data_hashes())
    victim = provenance.data_files(copy)[0]
    victim.write_bytes(victim.read_bytes() + b"\n")
    assert provenance.data_fingerprint(provenance.data_hashes(copy)) != first
    victim.unlink()
    assert provenance.data_fingerprint(provenance.data_hashes(copy)) != first


def test_data_fingerprint_ignores_row_order():
    hashes = provenance.data_hashes()
    assert provenance.data_fingerprint(hashes) == provenance.data_fingerprint(hashes.iloc[::-1])


@pytest.mark.parametrize("module", ["numpy", "scipy", "pandas", "arviz", "pymc", "statsmodels", "sphinx"])
def test_package_versions_match_the_modules(module):
    versions = provenance.package_versions()
    reported = dict(zip(versions["package"], versions["version"], strict=False))
    assert reported[module] == importlib.import_module(module).__version__


def test_package_versions_report_python_and_missing_packages():
    import platform

    versions = provenance.package_versions(("surely-not-a-real-distribution-name",))
    reported = dict(zip(versions["package"], versions["version"], strict=False))
    assert reported["surely-not-a-real-distribution-name"] == "not installed"
    assert reported["python"] == platform.python_version()


def test_seeds_name_the_package_seed():
    table = provenance.seeds()
    assert table.loc[table["seed"] == "nkreport.SEED", "value"].item() == SEED


# --- sources of the evidence tables and the bibliography ---------------------------------


def _bibliography():
    from pybtex.database import parse_file

    return parse_file(str(paths.project_root() / "book" / "references.bib")).entries


def _entry_for_source(entries, study_id: str, source: str) -> str | None:
    """The key of the bibliography entry for a cohort's source (DOI, URL, PMID or study id)."""
    source = source.strip()
    for key, entry in entries.items():
        fields = {name.lower(): str(value) for name, value in entry.fields.items()}
        if source.lower().startswith("doi:") and fields.get("doi", "").lower() == source[4:].strip().lower():
            return key
        if source.startswith("http") and fields.get("url") == source:
            return key
        if source.upper().startswith("PMID:") and source[5:].strip() in " ".join(fields.values()):
            return key
    prefixes = [key for key in entries if study_id.startswith(key)]
    return max(prefixes, key=len) if prefixes else None


def _cited_keys(text: str) -> set[str]:
    keys = set()
    for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]*)`", text):
        keys |= {k.strip() for k in group.split(",")}
    return keys


def test_every_evidence_source_is_in_the_bibliography_and_cited_where_shown():
    from nkreport import data

    entries = _bibliography()
    cohorts = data.load_cohorts(use=None)
    book = paths.project_root() / "book"
    showing = [p for p in sorted(book.glob("*.md")) if "cohort_table(" in p.read_text(encoding="utf-8")]
    assert showing, "no chapter shows the cohort table"
    cited = set().union(*(_cited_keys(p.read_text(encoding="utf-8")) for p in showing))
    missing, uncited = [], []
    for row in cohorts[["study_id", "source"]].drop_duplicates().itertuples():
        key = _entry_for_source(entries, row.study_id, row.source)
        if key is None:
            missing.append(f"{row.study_id} ({row.source})")
        elif key not in cited:
            uncited.append(key)
    assert not missing, f"sources without a bibliography entry: {missing}"
    assert not uncited, f"sources not cited in {[p.name for p in showing]}: {sorted(set(uncited))}"


def test_bibliography_links_use_dois():
    """A DOI is kept in the doi field (bare, not as a URL), and no url field points at doi.org."""
    for key, entry in _bibliography().items():
        doi = str(entry.fields.get("doi", ""))
        url = str(entry.fields.get("url", ""))
        assert not doi.lower().startswith(("http", "doi:")), key
        if doi:
            assert re.fullmatch(r"10\.\d{4,9}/\S+", doi), (key, doi)
        assert "doi.org/" not in url, f"{key}: put the DOI in the doi field"


def test_every_cited_key_exists():
    entries = _bibliography()
    book = paths.project_root() / "book"
    unknown = {
        (page.name, key)
        for page in sorted(book.glob("*.md"))
        for key in _cited_keys(page.read_text(encoding="utf-8"))
        if key not in entries
    }
    assert not unknown, sorted(unknown)
