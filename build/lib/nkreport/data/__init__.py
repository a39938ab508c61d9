"""Data: the schema of every file, one reader per format, validation with file, line, field and
fix, and the provenance of the inputs. Nothing here computes a result; nothing imports analysis.

The names below are the data layer's public interface (``from nkreport import data``).
"""

from .cohorts import (
    cohort_files,
    load_baseline,
    load_cohorts,
    load_risk_factors,
    load_trial_design,
    load_trial_design_table,
    read_cohort_file,
    validate_cohorts,
)
from .problems import DataValidationError, Problem
from .readers import MAX_JSON_DEPTH, bibtex_keys, parse_bibtex_keys
from .validation import check_data, validate_all, validate_path, validate_patient_level

__all__ = [
    "DataValidationError",
    "MAX_JSON_DEPTH",
    "Problem",
    "bibtex_keys",
    "check_data",
    "cohort_files",
    "load_baseline",
    "load_cohorts",
    "load_risk_factors",
    "load_trial_design",
    "load_trial_design_table",
    "parse_bibtex_keys",
    "read_cohort_file",
    "validate_all",
    "validate_cohorts",
    "validate_path",
    "validate_patient_level",
]
