"""Warehouse tables owned by the rights domain.

Split sheets are read into `split_sheet_lines` (every line, with provenance), checked by the rules in
`validation_rules`, and each set of lines for one subject (work or recording) and validity window becomes a
split set: clean sets are approved by the rules, sets with warnings wait in `review_tasks` for a reviewer,
sets with errors are blocked. Only approved split sets reach `splits`, and only `splits` move money.
"""

from integrations.warehouse import Column, table

WORKS = table(
    "rights",
    "works",
    Column("work_id", "text", "Backbeat work (composition) id.", nullable=False),
    Column("iswc", "text", "International Standard Musical Work Code, T-ddd.ddd.ddd-c."),
    Column("title", "text", "Work title."),
    Column("source_file", "text", "Split sheet the work was first read from."),
    primary_key=("work_id",),
    description="One row per musical work (composition).",
)

RECORDINGS = table(
    "rights",
    "recordings",
    Column("recording_id", "text", "Backbeat recording id (catalog.tracks.track_id).", nullable=False),
    Column("isrc", "text", "International Standard Recording Code, 12 characters, no hyphens."),
    Column("work_id", "text", "The work (composition) the recording embodies; null when unknown."),
    Column("title", "text", "Recording title."),
    primary_key=("recording_id",),
    description="One row per recording, linked to the work it embodies.",
)

PARTIES = table(
    "rights",
    "parties",
    Column("party_id", "text", "Backbeat party id.", nullable=False),
    Column("name", "text", "Party name (writer, composer, publisher, artist, label)."),
    Column("ipi", "text", "IPI name number, 11 digits, when known."),
    Column("party_type", "text", "person or company, when known."),
    Column("source_file", "text", "File the party was first read from (party register or split sheet)."),
    primary_key=("party_id",),
    description="One row per rights holder.",
)

PARTY_IDENTIFIERS = table(
    "rights",
    "party_identifiers",
    Column("party_id", "text", "Party the identifier belongs to.", nullable=False),
    Column("scheme", "text", "Identifier scheme: IPI, ISNI, ...", nullable=False),
    Column("value", "text", "The identifier.", nullable=False),
    primary_key=("party_id", "scheme", "value"),
    description="One row per identifier of a party.",
)

CONTRACTS = table(
    "rights",
    "contracts",
    Column("contract_id", "text", "Contract id.", nullable=False),
    Column("title", "text", "What the contract is (e.g. publishing agreement)."),
    Column("document", "text", "Path of the signed document, relative to the rights inbox."),
    Column("start_date", "date", "First day the contract is in force."),
    Column("end_date", "date", "Last day it is in force; null: open-ended."),
    Column("terms", "text", "Terms in words (territory, rates, reversion)."),
    Column("source_file", "text", "File the contract was read from."),
    primary_key=("contract_id",),
    description="One row per contract between parties.",
)

CONTRACT_PARTIES = table(
    "rights",
    "contract_parties",
    Column("contract_id", "text", "Contract.", nullable=False),
    Column("party_id", "text", "Party to the contract.", nullable=False),
    Column("role", "text", "The party's role in the contract (e.g. publisher, writer, label)."),
    primary_key=("contract_id", "party_id"),
    description="One row per party to a contract.",
)

SPLIT_SHEET_LINES = table(
    "rights",
    "split_sheet_lines",
    Column("split_set_id", "text", "Split set the line belongs to (subject, window and content hash).", nullable=False),
    Column("source_file", "text", "Split sheet file, relative to the rights inbox.", nullable=False),
    Column("page", "bigint", "Page of a scanned sheet (1-based); null for CSV/XLSX."),
    Column("row_number", "bigint", "CSV/XLSX line (header is 1) or table row of a scanned page.", nullable=False),
    Column("subject_type", "text", "work or recording."),
    Column("subject_id", "text", "work_id or recording_id the share is of."),
    Column("iswc", "text", "ISWC as written on the sheet."),
    Column("isrc", "text", "ISRC as written on the sheet."),
    Column("title", "text", "Title as written on the sheet."),
    Column("party_id", "text", "Party id as written (or resolved from the party register)."),
    Column("party_name", "text", "Party name as written."),
    Column("ipi", "text", "IPI as written."),
    Column("role", "text", "Role as written (writer, composer, publisher, artist, label, ...)."),
    Column("share_text", "text", "Share as written, e.g. 33.33."),
    Column("share_bp", "bigint", "Share in basis points (10000 = 100 %); null when unreadable."),
    Column("valid_from", "date", "First day the split applies; null: from the beginning."),
    Column("valid_to", "date", "Last day the split applies; null: open-ended."),
    Column("min_confidence", "double", "Lowest OCR confidence (0-100) among the line's fields; null: typed."),
    primary_key=("source_file", "row_number", "split_set_id"),
    description="One row per line read from a split sheet (CSV, XLSX, scanned image or PDF), with provenance.",
)

FIELD_PROVENANCE = table(
    "rights",
    "field_provenance",
    Column("source_file", "text", "Scanned split sheet.", nullable=False),
    Column("page", "bigint", "Page (1-based).", nullable=False),
    Column("row_number", "bigint", "Table row on the page (0 for header fields).", nullable=False),
    Column("field", "text", "Field name (iswc, party_name, share_percent, ...).", nullable=False),
    Column("value", "text", "Text read."),
    Column("bbox", "text", "Bounding box on the original page: left,top,width,height in pixels."),
    Column("confidence", "double", "Tesseract word confidence, 0-100 (lowest word of the field)."),
    Column("needs_review", "boolean", "True when the field is below the confidence threshold or unparseable."),
    description="One row per field OCR extracted from a scanned split sheet: where on the page, how sure.",
)

VALIDATION_RULES = table(
    "rights",
    "validation_rules",
    Column("code", "text", "Rule code, e.g. RS001.", nullable=False),
    Column("severity", "text", "error (blocks the split set), warning (needs review) or info.", nullable=False),
    Column("message", "text", "Message template shown with each finding."),
    Column("description", "text", "What the rule checks and why."),
    primary_key=("code",),
    description="The split-sheet validation rules, as data: one row per rule.",
)

VALIDATION_ISSUES = table(
    "rights",
    "validation_issues",
    Column("split_set_id", "text", "Split set the finding is about.", nullable=False),
    Column("rule_code", "text", "Rule that fired (rights.validation_rules).", nullable=False),
    Column("severity", "text", "error, warning or info."),
    Column("message", "text", "What is wrong, in words a reviewer can act on."),
    Column("source_file", "text", "Split sheet file."),
    Column("row_number", "bigint", "Line of the sheet; null for findings about the whole set."),
    Column("field", "text", "Offending field, or '' for the whole line or set."),
    Column("value", "text", "Offending value as read."),
    Column("subject_type", "text", "work or recording."),
    Column("subject_id", "text", "Work or recording id."),
    Column("party_id", "text", "Party concerned, when the finding is about one."),
    description="One row per rule finding on a split set.",
)

REVIEW_TASKS = table(
    "rights",
    "review_tasks",
    Column("task_id", "text", "Review task id (= the split set id it reviews).", nullable=False),
    Column("subject_type", "text", "work or recording."),
    Column("subject_id", "text", "Work or recording id."),
    Column("status", "text", "open (waiting for a reviewer), approved, rejected, or blocked (errors: fix the sheet)."),
    Column("rule_codes", "text", "Codes of the rules that fired, comma-separated."),
    Column("source_file", "text", "Split sheet file."),
    Column("decided_by", "text", "Reviewer who approved or rejected."),
    Column("decided_at", "timestamp", "When the decision was taken (UTC)."),
    Column("note", "text", "Reviewer's note."),
    primary_key=("task_id",),
    description="One row per split set that needs a person: open, approved, rejected or blocked.",
)

SPLITS = table(
    "rights",
    "splits",
    Column("split_set_id", "text", "Approved split set this share belongs to.", nullable=False),
    Column("subject_type", "text", "work or recording.", nullable=False),
    Column("subject_id", "text", "Work or recording the share is of.", nullable=False),
    Column("party_id", "text", "Party receiving the share.", nullable=False),
    Column("role", "text", "writer, composer, lyricist, arranger, publisher, artist, label, ...", nullable=False),
    Column("role_group", "text", "Pool the role's shares sum to 100 % in: writer, publisher, performer, label."),
    Column("share_bp", "bigint", "Share of the role group in basis points: 10000 = 100 %."),
    Column("valid_from", "date", "First day the split applies; null: from the beginning."),
    Column("valid_to", "date", "Last day the split applies; null: open-ended."),
    Column("source_file", "text", "Split sheet file."),
    Column("source_row", "bigint", "Line in the split sheet."),
    Column("approved_by", "text", "'rules' when clean, else the reviewer who approved it."),
    primary_key=("split_set_id", "party_id", "role"),
    description="One row per approved share: per subject, role group and window the shares sum to 10000 bp.",
)
