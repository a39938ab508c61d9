"""The built book: every chapter page exists, key glued values reach the HTML and the JSON.

Runs ``jupyter-book build .`` exactly as a reader would (incremental after the README's first
command, so it costs seconds there; a full build otherwise).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nkreport import data
from nkreport.analysis.endpoints import clopper_pearson
from nkreport.report.glue import fmt_interval

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"

pytestmark = pytest.mark.book


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


@pytest.fixture(scope="module")
def built() -> Path:
    executable = Path(sys.executable).with_name("jupyter-book")
    command = [str(executable) if executable.exists() else "jupyter-book", "build", ".", "-W", "-n", "--keep-going"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return HTML


def test_every_chapter_page_exists(built):
    for file in _toc_files():
        page = built / f"{file}.html"
        assert page.exists(), page
        assert page.stat().st_size > 1000


def test_results_json_has_the_primary_endpoint(built):
    results = json.loads((built / "results.json").read_text())["results"]
    events, n = 6, 19
    assert results["trial_bsi_fraction"]["value"] == f"{events}/{n}"
    low, high = clopper_pearson(events, n)
    assert results["trial_bsi_exact_ci"]["value"] == pytest.approx([float(low), float(high)], abs=1e-12)
    assert results["trial_bsi_exact_ci"]["text"] == fmt_interval(low, high)
    assert results["trial_bsi_exact_ci"]["chapter"] == "book/01_trial"


def test_glued_values_appear_in_the_html(built):
    results = json.loads((built / "results.json").read_text())["results"]
    page = (built / "book" / "01_trial.html").read_text()
    text = re.sub(r"<[^>]+>", "", page)
    for key in ("trial_bsi_fraction", "trial_bsi_exact_ci", "trial_planned_n", "trial_infused_n"):
        assert results[key]["text"] in text, key


def test_results_match_the_data(built):
    results = json.loads((built / "results.json").read_text())["results"]
    cohorts = data.load_cohorts()
    trial = cohorts[(cohorts["role"] == "trial") & (cohorts["outcome"] == "bsi")].iloc[0]
    assert results["trial_bsi_events"]["value"] == trial["events"]


def test_no_unrendered_glue_or_errors(built):
    for page in built.rglob("*.html"):
        text = page.read_text()
        assert "{glue}" not in text, page
        assert "Traceback (most recent call last)" not in text, page
