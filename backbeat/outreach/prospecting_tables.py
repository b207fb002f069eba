"""Warehouse tables of prospecting (schema `outreach`): discovery, enrichment, hygiene, scoring and drafts.

The outreach engine (`backbeat/outreach/tables.py`) sends to contacts an organisation already has; these tables
hold how Backbeat finds new ones:

- `candidates`: sites and pages found by discovery (SERP, CSV import, Backbeat's own stations), one row per
  organisation x normalised domain x page URL, so re-running a discovery never duplicates a row.
- `discovery_runs`: one row per discovery run, with what it asked, what it found and what it cost.
- `candidate_emails`: addresses enrichment found for a candidate's domain, with confidence and verification.
- `enrichment_cache`: every answer of the email-finder provider, so nothing is asked twice.
- `credit_ledger`: append-only spend of paid providers (SERP cost in USD, email-finder credits) per month.
- `credit_reservations`: credits a running enrichment holds against the monthly budget before it calls.
- `hygiene_rejects`: addresses refused at intake, with the rule that refused them (the per-rule shares of the
  benchmark); file/row problems of imports go to `quarantine.rejected_rows` as everywhere else.
- `prospect_scores`: explainable score per campaign and candidate address, with its features and version.
- `drafts`: generated or rendered first emails with prompt, model, template version, checks and approval.

All timestamps are naive UTC; JSON columns hold text produced by `json.dumps(..., sort_keys=True)`.
"""

from integrations.warehouse import Column, table
from integrations.warehouse.tables import Check


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


CANDIDATE_PROVENANCES = ("serp", "csv", "stations")
"""Where a candidate came from: a search engine results page, a CSV import, or Backbeat's airplay.stations."""
CONTACT_METHODS = ("email", "contact_page", "website", "stream")
"""How a candidate can be reached: an address found on import, a contact page, the site itself, or (stations
without a website) only the stream host's domain."""
DISCOVERY_SOURCES = CANDIDATE_PROVENANCES
DISCOVERY_STATUSES = ("running", "succeeded", "failed")
CREDIT_PROVIDERS = ("serp", "emailfinder", "textgen")
VERIFICATION_RESULTS = ("deliverable", "risky", "undeliverable", "unknown")
HYGIENE_RULES = ("syntax", "duplicate", "role_account", "disposable", "suppressed", "undeliverable")
DRAFT_SOURCES = ("template", "generated")
DRAFT_STATUSES = ("pending_approval", "approved", "rejected", "failed_checks", "sent")

CANDIDATES = table(
    "outreach",
    "candidates",
    Column("org_id", "text", "Organisation that ran the discovery.", nullable=False),
    Column(
        "domain",
        "text",
        "Normalised registrable host: lower-cased, IDNA (punycode), no leading www., no trailing dot.",
        nullable=False,
    ),
    Column(
        "page_url",
        "text",
        "Normalised page URL (scheme lower-cased, normalised domain, no fragment, no trailing slash, tracking "
        "parameters dropped); '' when the candidate is a whole domain (its home page, or a bare domain).",
        nullable=False,
    ),
    Column(
        "candidate_id",
        "text",
        "Stable id: hash of org_id, domain and page_url (what enrichment, scoring and drafts point at).",
        nullable=False,
    ),
    Column("title", "text", "Page title (SERP title, CSV title column, or the station name)."),
    Column("description", "text", "Snippet or note describing the page."),
    Column("contact_method", "text", "email, contact_page, website or stream: how the candidate can be reached."),
    Column("contact_value", "text", "The address or URL to reach the candidate by, when known."),
    Column("provenance", "text", "serp, csv or stations: the source that first found the candidate.", nullable=False),
    Column("source", "text", "Where exactly: the SERP task id, 'file:row' of the CSV, or the airplay station_id."),
    Column("query", "text", "Search keyword that found it (serp), else null."),
    Column("location", "text", "SERP location (code or name) of the query, else null."),
    Column("language_code", "text", "SERP language code of the query, else null."),
    Column("rank_absolute", "bigint", "Position among all SERP items (rank_absolute), else null."),
    Column("station_id", "text", "airplay.stations station_id when the candidate is a monitored station."),
    Column("discovery_id", "text", "Discovery run (outreach.discovery_runs) that first found it."),
    Column("discovered_at", "timestamp", "When it was first found (UTC); never changed by a re-run.", nullable=False),
    Column("last_seen_at", "timestamp", "When a discovery last found it again (UTC)."),
    primary_key=("org_id", "domain", "page_url"),
    description="One row per organisation, normalised domain and page found by discovery: the raw prospects "
    "enrichment turns into addresses. Re-running a discovery updates last_seen_at, never adds a duplicate.",
    checks=(
        Check("candidates_provenance_allowed", _one_of("provenance", CANDIDATE_PROVENANCES)),
        Check(
            "candidates_contact_method_allowed",
            f"contact_method IS NULL OR {_one_of('contact_method', CONTACT_METHODS)}",
        ),
        Check("candidates_domain_lower", "domain = lower(domain)"),
    ),
)

DISCOVERY_RUNS = table(
    "outreach",
    "discovery_runs",
    Column("discovery_id", "text", "Run id.", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("source", "text", "serp, csv or stations.", nullable=False),
    Column("parameters", "text", "JSON of what was asked: keywords, location, language, depth, or the file."),
    Column("status", "text", "running, succeeded or failed.", nullable=False),
    Column("error", "text", "Why it failed (provider status code and message), when it did."),
    Column("requests", "bigint", "Calls made to the provider (0 for csv and stations)."),
    Column("results", "bigint", "Candidates the source returned (duplicates within the run included)."),
    Column("new_candidates", "bigint", "Candidates that were not in outreach.candidates before this run."),
    Column("rejected_rows", "bigint", "Input rows quarantined (csv) or results skipped as unusable."),
    Column("cost_usd", "decimal", "Money the provider charged for the run (the SERP envelope's cost), in USD."),
    Column("started_at", "timestamp", "When the run started (UTC).", nullable=False),
    Column("finished_at", "timestamp", "When it finished (UTC)."),
    primary_key=("discovery_id",),
    description="One row per discovery run: its source and parameters, what it found, and what it cost.",
    checks=(
        Check("discovery_runs_source_allowed", _one_of("source", DISCOVERY_SOURCES)),
        Check("discovery_runs_status_allowed", _one_of("status", DISCOVERY_STATUSES)),
    ),
)

CANDIDATE_EMAILS = table(
    "outreach",
    "candidate_emails",
    Column("org_id", "text", "Organisation.", nullable=False),
    Column(
        "candidate_id", "text", "Candidate (outreach.candidates) whose domain the address belongs to.", nullable=False
    ),
    Column("email", "text", "Address, normalised and lower-cased.", nullable=False),
    Column("domain", "text", "Domain of the address (normalised as in outreach.candidates)."),
    Column("first_name", "text", "First name, when the provider knows it."),
    Column("last_name", "text", "Last name, when the provider knows it."),
    Column("position", "text", "Job title, e.g. Music Director, when the provider knows it."),
    Column("email_type", "text", "personal or generic, as the provider classifies it."),
    Column("confidence", "bigint", "Provider's confidence score (0-100) that the address is right."),
    Column("verification", "text", "deliverable, risky, undeliverable or unknown (email verifier result)."),
    Column("accept_all", "boolean", "The domain's mail server accepts every address (verification is weak)."),
    Column("disposable", "boolean", "The address is on a disposable-mail domain."),
    Column("webmail", "boolean", "The address is on a webmail domain (gmail.com, ...)."),
    Column("found_by", "text", "domain_search, email_finder or csv: how the address was obtained."),
    Column("enriched_at", "timestamp", "When it was found or last verified (UTC)."),
    primary_key=("org_id", "candidate_id", "email"),
    description="One row per candidate and address enrichment found for it, with confidence and verification.",
    checks=(
        Check("candidate_emails_email_lower", "email = lower(email)"),
        Check(
            "candidate_emails_verification_allowed",
            f"verification IS NULL OR {_one_of('verification', VERIFICATION_RESULTS)}",
        ),
        Check("candidate_emails_confidence_range", "confidence IS NULL OR (confidence >= 0 AND confidence <= 100)"),
    ),
)

ENRICHMENT_CACHE = table(
    "outreach",
    "enrichment_cache",
    Column("org_id", "text", "Organisation whose credits paid for the answer.", nullable=False),
    Column("provider", "text", "Provider, e.g. emailfinder.", nullable=False),
    Column("operation", "text", "domain_search, email_finder or email_verifier.", nullable=False),
    Column(
        "request_key",
        "text",
        "Normalised request: the domain, 'domain|first|last', or the address (lower-cased).",
        nullable=False,
    ),
    Column("http_status", "bigint", "HTTP status of the answer (200, or 404/422 answers worth remembering)."),
    Column("response", "text", "The provider's JSON body as received (no API key in it)."),
    Column("credits", "double", "Credits the answer cost."),
    Column("fetched_at", "timestamp", "When it was asked (UTC).", nullable=False),
    Column("expires_at", "timestamp", "After this the answer may be asked again (UTC); null: never expires."),
    primary_key=("org_id", "provider", "operation", "request_key"),
    description="One row per question asked of a paid enrichment provider and its answer, so nothing is asked "
    "twice while the answer is fresh.",
)

CREDIT_LEDGER = table(
    "outreach",
    "credit_ledger",
    Column("entry_id", "text", "Deterministic id: hash of provider, operation, request key and run.", nullable=False),
    Column("org_id", "text", "Organisation charged.", nullable=False),
    Column("provider", "text", "serp, emailfinder or textgen.", nullable=False),
    Column("operation", "text", "What was bought, e.g. serp_organic_live, domain_search, email_verifier."),
    Column("request_key", "text", "What it was asked about (keyword, domain, address)."),
    Column("month", "text", "Budget month, YYYY-MM (UTC), the entry counts against.", nullable=False),
    Column("credits", "double", "Credits spent (email finder); 0 when the provider charges money only."),
    Column("cost_usd", "decimal", "Money spent in USD (the SERP envelope's cost); null when unknown."),
    Column("run_id", "text", "Discovery run or enrichment run that spent it."),
    Column("occurred_at", "timestamp", "When it was spent (UTC).", nullable=False),
    primary_key=("entry_id",),
    description="Append-only: one row per paid provider call, in credits and/or USD, per budget month; the "
    "monthly budget is checked against its sum before every call.",
    checks=(
        Check("credit_ledger_provider_allowed", _one_of("provider", CREDIT_PROVIDERS)),
        Check("credit_ledger_credits_positive", "credits IS NULL OR credits >= 0"),
        Check("credit_ledger_cost_positive", "cost_usd IS NULL OR cost_usd >= 0"),
    ),
    append_only=True,
)

CREDIT_RESERVATIONS = table(
    "outreach",
    "credit_reservations",
    Column("reservation_id", "text", "Reservation id: the enrichment run holding it.", nullable=False),
    Column("org_id", "text", "Organisation whose budget it holds.", nullable=False),
    Column("provider", "text", "Provider, e.g. emailfinder.", nullable=False),
    Column("month", "text", "Budget month, YYYY-MM (UTC).", nullable=False),
    Column("credits", "double", "Credits held and not yet booked in outreach.credit_ledger.", nullable=False),
    Column("created_at", "timestamp", "When the run reserved (UTC).", nullable=False),
    Column("lease_until", "timestamp", "After this the run is presumed dead and the hold is booked as spent."),
    primary_key=("reservation_id",),
    description="One row per running enrichment: credits it holds against the monthly budget before calling; "
    "ledger spend plus live holds never pass the budget.",
)

HYGIENE_REJECTS = table(
    "outreach",
    "hygiene_rejects",
    Column("reject_id", "text", "Deterministic id: hash of organisation, address, rule and source.", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("email", "text", "The address as received (not normalised: it may not parse)."),
    Column("normalised_email", "text", "The normalised address, when it parsed."),
    Column("candidate_id", "text", "Candidate it was found for, when any."),
    Column(
        "rule",
        "text",
        "syntax, duplicate, role_account, disposable, suppressed or undeliverable: the rule that refused it.",
        nullable=False,
    ),
    Column("reason", "text", "Why, in words a person can act on."),
    Column("source_file", "text", "File the address came from, when an import."),
    Column("row_number", "bigint", "Line in that file (header is line 1), when an import."),
    Column("field", "text", "Field holding the address, when an import."),
    Column("rejected_at", "timestamp", "When it was refused (UTC).", nullable=False),
    primary_key=("reject_id",),
    description="One row per address refused at intake and the hygiene rule that refused it.",
    checks=(Check("hygiene_rejects_rule_allowed", _one_of("rule", HYGIENE_RULES)),),
)

PROSPECT_SCORES = table(
    "outreach",
    "prospect_scores",
    Column(
        "score_id",
        "text",
        "Deterministic id: hash of campaign, candidate, address and score version.",
        nullable=False,
    ),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("campaign_id", "text", "Campaign the candidate is ranked for.", nullable=False),
    Column("candidate_id", "text", "Candidate (outreach.candidates).", nullable=False),
    Column("email", "text", "Address scored (outreach.candidate_emails), when the score is per address."),
    Column("score", "double", "Score, higher is better.", nullable=False),
    Column("rank", "bigint", "Rank within the campaign for this score version (1 = best)."),
    Column(
        "features",
        "text",
        "JSON of the features and their contributions (authority, genre/mood relevance, verification "
        "confidence, station airplay of similar tracks, past outcomes) that explain the score.",
        nullable=False,
    ),
    Column("score_version", "text", "Version of the scoring formula.", nullable=False),
    Column("scored_at", "timestamp", "When it was scored (UTC).", nullable=False),
    primary_key=("score_id",),
    description="One row per campaign, candidate address and scoring version: the explainable score and its "
    "features, ranked per campaign.",
)

DRAFTS = table(
    "outreach",
    "drafts",
    Column("draft_id", "text", "Draft id.", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("campaign_id", "text", "Campaign.", nullable=False),
    Column("candidate_id", "text", "Candidate written to, when the draft is for a candidate."),
    Column("prospect_id", "text", "Prospect (outreach.prospects) written to, when enrolled."),
    Column("email", "text", "Recipient address."),
    Column("step_no", "bigint", "Sequence step the draft is for.", nullable=False),
    Column("source", "text", "template (rendered) or generated (text-generation hook).", nullable=False),
    Column("template_id", "text", "Template rendered or used as the frame of the generation."),
    Column("template_version", "bigint", "Its version."),
    Column("subject", "text", "Subject text."),
    Column("body", "text", "Body text."),
    Column("prompt", "text", "Prompt sent to the text-generation provider (generated only)."),
    Column("model", "text", "Model that wrote it (generated only)."),
    Column("checks", "text", "JSON list of the checks run and their failures (length, footer, variables, claims)."),
    Column(
        "status",
        "text",
        "pending_approval, approved, rejected, failed_checks or sent: only approved drafts may be sent.",
        nullable=False,
    ),
    Column("approver", "text", "Who approved or rejected it (backbeat outreach approve)."),
    Column("decided_at", "timestamp", "When it was approved or rejected (UTC)."),
    Column("created_at", "timestamp", "When it was written (UTC).", nullable=False),
    primary_key=("draft_id",),
    description="One row per draft email: rendered from a template or generated, with prompt, model, template "
    "version, checks and a person's approval.",
    checks=(
        Check("drafts_source_allowed", _one_of("source", DRAFT_SOURCES)),
        Check("drafts_status_allowed", _one_of("status", DRAFT_STATUSES)),
        Check("drafts_generated_has_model", "source <> 'generated' OR (model IS NOT NULL AND prompt IS NOT NULL)"),
        Check("drafts_approved_has_approver", "status NOT IN ('approved', 'sent') OR approver IS NOT NULL"),
    ),
)

PROSPECTING_TABLES = (
    CANDIDATES,
    DISCOVERY_RUNS,
    CANDIDATE_EMAILS,
    ENRICHMENT_CACHE,
    CREDIT_LEDGER,
    CREDIT_RESERVATIONS,
    HYGIENE_REJECTS,
    PROSPECT_SCORES,
    DRAFTS,
)
"""Every prospecting table, in an order that creates each before anything that names it."""
