"""The data model: one column specification per field, the single source of truth.

The loader (:mod:`nkreport.data`), the cohort template (``nkreport new``) and the book's
data dictionary are all generated from the specifications below, so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("trial", "earlier_treated", "earlier_untreated", "external_baseline")
OUTCOMES = ("bsi", "rejection", "related_ae", "severe_related_ae", "hcc_recurrence")
ARMS = ("nk", "control")
USES = ("primary", "sensitivity")
VERIFIED = ("yes", "derived", "unverified")

ROLE_LABELS = {
    "trial": "the trial",
    "earlier_treated": "earlier NK-treated arm",
    "earlier_untreated": "earlier untreated arm",
    "external_baseline": "external baseline (no NK)",
}
OUTCOME_LABELS = {
    "bsi": "bloodstream infection",
    "rejection": "acute rejection",
    "related_ae": "infusion-related adverse event",
    "severe_related_ae": "severe infusion-related adverse event",
    "hcc_recurrence": "HCC recurrence",
}
VERIFIED_LABELS = {
    "yes": "count read in the named source",
    "derived": "count derived from a printed percentage and n",
    "unverified": "count inferred, not confirmed in a source",
}

#: Largest plausible cohort size; anything above is treated as a typing error.
MAX_N = 1_000_000

ID_PATTERN = r"[a-z0-9][a-z0-9_]*"
#: Longest identifier (cohort_id, study_id, design item); also bounds file names.
MAX_ID_LENGTH = 64
#: Trial registries whose identifiers are accepted as a source.
REGISTRY_PATTERN = (
    r"(NCT\d{8}|jRCT[a-z]?\d{9,10}|UMIN\d{9}|ISRCTN\d{8}|DRKS\d{8}|ChiCTR[-0-9A-Za-z]{6,20}|"
    r"EUCTR\d{4}-\d{6}-\d{2}|ACTRN\d{14}|CTRI/\d{4}/\d{2,3}/\d{6})"
)
#: A source: a DOI with its suffix, a PubMed id, an http(s) URL with a host, or a registry id.
SOURCE_PATTERN = (
    r"(doi:10\.\d{4,9}/[^\s]+|PMID:\d{1,9}|https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?(/[^\s]*)?|"
    + REGISTRY_PATTERN
    + ")"
)
SOURCE_FORMS = (
    "doi:10.NNNN/suffix, PMID:12345678, an http(s):// URL or a trial registry id (NCT…, jRCT…, UMIN…, ISRCTN…)"
)
#: Values that stand for "no value"; refused in every field (leave an optional field empty).
MISSING_MARKERS = frozenset(
    {
        "",
        "na",
        "n/a",
        "n.a.",
        "nan",
        "null",
        "none",
        "nil",
        "-",
        "--",
        "---",
        "\u2013",
        "\u2014",
        "?",
        "??",
        "missing",
        "unknown",
        "not known",
        "not available",
        "not applicable",
        "tbd",
        "tba",
        "todo",
        "xxx",
        "see paper",
        "see the paper",
        "see text",
        "see source",
        "personal communication",
        "pers. comm.",
    }
)
#: Prefix of the placeholders in a template written by ``nkreport new``.
TEMPLATE_MARK = "FILL:"
#: Longest text allowed per field (characters); other text fields allow DEFAULT_TEXT_LENGTH.
TEXT_LENGTHS = {"study": 80, "note": 400, "source": 300, "title": 300, "generator": 200}
DEFAULT_TEXT_LENGTH = 200


@dataclass(frozen=True)
class ColumnSpec:
    """One field of a data file."""

    name: str
    kind: str  # "id", "text", "count", "days", "percent", "choice", "number"
    required: bool
    description: str
    example: str
    choices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def max_length(self) -> int:
        """Longest value allowed (characters) for a text or source field."""
        return TEXT_LENGTHS.get(self.name, DEFAULT_TEXT_LENGTH)

    @property
    def type_label(self) -> str:
        return {
            "id": "identifier (lower case, digits, _)",
            "text": f"text (at most {self.max_length} characters)",
            "source": "source: " + SOURCE_FORMS,
            "count": "whole number ≥ 0",
            "days": "whole number of days ≥ 1, or empty for unknown",
            "percent": "number in [0, 100], or empty",
            "choice": "one of: " + ", ".join(self.choices),
            "number": "number > 0",
            "code": "opaque code (letters, digits, - and _; at most 16 characters)",
            "day": "whole number of days after transplantation ≥ 0" + ("" if self.required else ", or empty if none"),
        }[self.kind]


COHORT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "cohort_id", "id", True, "Unique identifier of this arm and outcome, across all files.", "smith2026_nk_bsi"
    ),
    ColumnSpec(
        "study_id",
        "id",
        True,
        "Identifier shared by the arms of one study; comparative studies pair arms by it.",
        "smith2026",
    ),
    ColumnSpec(
        "study", "text", True, "Short human-readable study label shown in tables and plots.", "Smith 2026 (Kyoto LDLT)"
    ),
    ColumnSpec("arm", "choice", True, "Whether patients received NK cells (nk) or not (control).", "nk", ARMS),
    ColumnSpec(
        "role",
        "choice",
        True,
        "How the book uses the row: the trial itself, an earlier treated or untreated arm, or an external baseline.",
        "earlier_treated",
        ROLES,
    ),
    ColumnSpec("outcome", "choice", True, "The outcome counted in events.", "bsi", OUTCOMES),
    ColumnSpec("events", "count", True, "Number of patients with the outcome.", "4"),
    ColumnSpec("n", "count", True, "Number of patients in the arm (must be ≥ 1 and ≥ events).", "30"),
    ColumnSpec(
        "window_days",
        "days",
        False,
        "Outcome window in days after transplantation; empty when the source does not state it.",
        "30",
    ),
    ColumnSpec(
        "printed_percent",
        "percent",
        False,
        "The percentage as printed by the source, to detect disagreements with events/n.",
        "13.3",
    ),
    ColumnSpec("design", "text", True, "Study design in a few words.", "retrospective cohort"),
    ColumnSpec(
        "use",
        "choice",
        True,
        "primary rows enter the analyses; sensitivity rows are listed in the evidence table and enter "
        "named sensitivity analyses only.",
        "primary",
        USES,
    ),
    ColumnSpec("source", "source", True, "Where the numbers come from: doi:…, PMID:… or a URL.", "doi:10.1000/example"),
    ColumnSpec("location", "text", True, "Where in the source: abstract, table 2, registry field …", "abstract"),
    ColumnSpec(
        "verified",
        "choice",
        True,
        "yes: read in the source; derived: computed from a printed percentage; unverified: inferred.",
        "yes",
        VERIFIED,
    ),
    ColumnSpec("note", "text", False, "Anything a reader needs to interpret the row.", "bacteremia within one month"),
)

DESIGN_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("item", "id", True, "Name of the design item.", "planned_n"),
    ColumnSpec("value", "text", True, "Its value.", "37"),
    ColumnSpec("unit", "text", False, "Unit of the value.", "patients"),
    ColumnSpec("source", "source", True, "Source (DOI, PMID or URL).", "doi:10.1186/s41231-022-00126-4"),
    ColumnSpec("location", "text", True, "Location in the source.", "protocol abstract"),
    ColumnSpec("verified", "choice", True, "Verified flag.", "yes", VERIFIED),
    ColumnSpec("note", "text", False, "Comment.", ""),
)

BASELINE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("characteristic", "text", True, "Baseline characteristic.", "sex"),
    ColumnSpec("category", "text", False, "Category of a categorical characteristic.", "male"),
    ColumnSpec("count", "count", False, "Patients in the category.", "10"),
    ColumnSpec("median", "number", False, "Median of a continuous characteristic.", "59"),
    ColumnSpec("range_low", "number", False, "Lower end of the range.", "26"),
    ColumnSpec("range_high", "number", False, "Upper end of the range.", "70"),
    ColumnSpec("n", "count", True, "Patients described.", "19"),
    ColumnSpec("source", "source", True, "Source (DOI, PMID or URL).", "https://jrct.niph.go.jp/"),
    ColumnSpec("location", "text", True, "Location in the source.", "jRCT summary results"),
    ColumnSpec("verified", "choice", True, "Verified flag.", "yes", VERIFIED),
)

RISK_FACTOR_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("factor", "text", True, "Risk factor.", "ABO-incompatible transplantation"),
    ColumnSpec("outcome", "choice", True, "Outcome the odds ratio refers to.", "bsi", OUTCOMES),
    ColumnSpec("odds_ratio", "number", True, "Published pooled odds ratio.", "2.87"),
    ColumnSpec("studies", "count", False, "Number of pooled studies.", "17"),
    ColumnSpec("patients", "count", False, "Number of pooled patients.", "4410"),
    ColumnSpec("source", "source", True, "Source (DOI, PMID or URL).", "doi:10.1007/s15010-018-1230-5"),
    ColumnSpec("location", "text", True, "Location in the source.", "abstract"),
    ColumnSpec("verified", "choice", True, "Verified flag.", "yes", VERIFIED),
    ColumnSpec("note", "text", False, "Comment.", ""),
)

#: Sidecar (``<file>.json`` beside each cohort CSV) keys and their meaning.
SIDECAR_KEYS = {
    "title": "What the file holds, in one sentence.",
    "references": "BibTeX keys (in book/references.bib) of the sources of the rows.",
    "columns": "The CSV header, in order; must equal the file's header.",
    "cohort_ids": "The cohort_id of every row, in order; must equal the file's rows.",
}

#: Column names that look like direct identifiers of patients; such files are refused.
IDENTIFIER_COLUMN_PATTERN = (
    r"(^|_)(name|first_?name|last_?name|surname|patient_?name|dob|date_?of_?birth|birth_?date|"
    r"mrn|medical_?record|record_?(no|number)|address|street|zip|postcode|postal_?code|phone|"
    r"email|ssn|social_?security|national_?id|insurance_?(no|number))($|_)"
)

# --------------------------------------------------------------------------- patient-level data

#: Opaque patient codes: letters, digits, '-' and '_' only, at most 16 characters (never a name
#: or a record number; the loader also refuses identifier-like column names).
PATIENT_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}"

#: Folder of the data folder that holds patient-level files.
PATIENT_LEVEL_FOLDER = "simulated"

#: Individual patient records (optional, one file per cohort; see :mod:`nkreport.data.patient_level`).
IPD_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "patient_id",
        "code",
        True,
        "Opaque code of the patient, unique within the file; never a name, birth date or record number.",
        "P001",
    ),
    ColumnSpec(
        "days_to_bsi",
        "day",
        False,
        "Day after transplantation of the first bloodstream infection; empty if none was observed.",
        "12",
    ),
    ColumnSpec(
        "death_day",
        "day",
        False,
        "Day after transplantation of death; empty if the patient was alive at the end of follow-up.",
        "",
    ),
    ColumnSpec(
        "end_of_followup",
        "day",
        True,
        "Last day the patient was followed (the day of death for patients who died).",
        "90",
    ),
)

#: Sidecar keys of a patient-level file.
IPD_SIDECAR_KEYS = {
    "title": "What the file holds, in one sentence.",
    "cohort_id": "The cohort row (in data/cohorts) these patients make up.",
    "simulated": "true if the records are simulated, false if they are real (de-identified) records.",
    "columns": "The CSV header, in order; must equal the file's header.",
    "generator": "For simulated data: the command that regenerates the file.",
}
