"""Warehouse tables owned by the outreach domain (schema `outreach`).

`contacts` is the validated CSV import (the `outreach/contacts` asset replaces it whole); every other table
carries `org_id`. `org_contacts` is the organisation's own register of people with their provenance (`import`
from that CSV, `vendor` list, `inbound` mail): prospects point at it, so a re-import of the CSV never loses an
inbound contact.

History is append-only (`send_attempts`, `outcomes`, `suppressions`, `activity`, `outbound_messages`): on
PostgreSQL a trigger refuses UPDATE/DELETE/TRUNCATE. State tables (`mailboxes`, `campaigns`, `prospects`,
`threads`, `mailbox_checkpoints`, `message_bodies`) are updated in place.

Exactly-once sending rests on `send_attempts`' primary key (idempotency_key, attempt_no, event): a run claims
attempt n of a key by inserting its `intent` row; two racing runs inserting the same row resolve to one winner.
A claim carries a lease (`lease_until`); a claim without a result after its lease expired is recovered by a new
attempt that first looks the Message-ID up in the mailbox. All timestamps are naive UTC.
"""

from integrations.warehouse import Column, table
from integrations.warehouse.tables import Check


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


CONTACTS = table(
    "outreach",
    "contacts",
    Column("contact_id", "text", "Stable id: hash of the lower-cased email.", nullable=False),
    Column("email", "text", "Email address, lower-cased."),
    Column("name", "text", "Contact name."),
    Column("company", "text", "Company or station."),
    Column("country", "text", "Country code."),
    Column("consent", "boolean", "Whether the contact agreed to be emailed."),
    Column("source_file", "text", "File the contact came from."),
    Column("source_row", "bigint", "Line in that file."),
    primary_key=("contact_id",),
    description="One row per prospect that campaigns may address.",
)

MAILBOX_STATUSES = ("ok", "degraded", "auth_required")
PROVIDERS = ("gmail", "workspace")
PROVENANCES = ("import", "vendor", "inbound")
CAMPAIGN_STATUSES = ("draft", "active", "paused", "stopped", "completed")
PROSPECT_STATUSES = ("active", "completed", "replied", "bounced", "unsubscribed", "complained", "stopped", "failed")
SEND_EVENTS = ("intent", "sent", "released", "failed", "unknown")
"""intent: a claim (with a lease) on one attempt of a key; sent: Gmail holds the message (sent or found by its
Message-ID); released: nothing was sent (rate limit, daily limit, auth), a later attempt may claim the key;
failed: Gmail refused the message for good; unknown: the call's outcome was not known (audit only, not a result)."""
RESULT_EVENTS = ("sent", "released", "failed")
ERROR_CATEGORIES = ("rate_limited", "daily_limit", "auth_required", "rejected", "unavailable", "outcome_unknown")
OUTCOME_KINDS = (
    "replied",
    "bounced_hard",
    "bounced_soft",
    "auto_reply",
    "unsubscribed",
    "complained",
    "accepted",
    "rejected",
)
SUPPRESSION_KINDS = ("email", "domain")
SUPPRESSION_REASONS = ("unsubscribe", "bounce", "complaint", "manual")
TEMPLATE_SYNTAXES = ("jinja", "string")
TEMPLATE_FOOTERS = ("template", "engine")
"""As `compose.SYNTAXES` and `compose.FOOTER_MODES` (tests/outreach/test_send_compose.py checks they match)."""
GOOGLE_DAILY_SEND_LIMIT = 2000
"""Google Workspace's per-user daily sending limit; no configured cap may exceed it."""

ORGANISATIONS = table(
    "outreach",
    "organisations",
    Column("org_id", "text", "Organisation id (a label or promo company).", nullable=False),
    Column("name", "text", "Display name."),
    Column("daily_cap", "bigint", "Most sends the organisation's mailboxes together make in any rolling 24 h."),
    Column(
        "domain_daily_cap",
        "bigint",
        "Most sends to one recipient domain in any rolling 24 h (optional throttle; null: no throttle).",
    ),
    Column(
        "body_retention_days",
        "bigint",
        "Days message bodies are kept in outreach.message_bodies; null: bodies are not stored (metadata only).",
    ),
    Column("created_at", "timestamp", "When the organisation was created (UTC)."),
    primary_key=("org_id",),
    description="One row per organisation running outreach, with its caps and body retention policy.",
    checks=(
        Check("organisations_daily_cap_positive", "daily_cap IS NULL OR daily_cap >= 0"),
        Check("organisations_domain_cap_positive", "domain_daily_cap IS NULL OR domain_daily_cap >= 0"),
        Check("organisations_retention_positive", "body_retention_days IS NULL OR body_retention_days >= 0"),
    ),
)

MAILBOXES = table(
    "outreach",
    "mailboxes",
    Column("mailbox_id", "text", "Mailbox id: the lower-cased address.", nullable=False),
    Column("org_id", "text", "Organisation owning the mailbox.", nullable=False),
    Column("address", "text", "Sending address as Gmail reports it (users.getProfile emailAddress)."),
    Column("display_name", "text", "Name shown in From."),
    Column("provider", "text", "gmail (consumer) or workspace (Google Workspace)."),
    Column("status", "text", "ok, degraded (errors, still sending) or auth_required (sends paused).", nullable=False),
    Column("status_reason", "text", "Why the status was last changed (e.g. invalid_grant)."),
    Column("created_on", "date", "Day the mailbox was created: under a year old it gets the warm-up cap."),
    Column("daily_cap", "bigint", "Sends allowed in any rolling 24 h; null: 40 under a year old, else 100."),
    Column("paused_until", "timestamp", "No sends before this time (set after 403 dailyLimitExceeded)."),
    Column(
        "token_name",
        "text",
        "Name of the Fernet-encrypted OAuth token in the token store (integrations/resilience/secrets.py).",
    ),
    Column("updated_at", "timestamp", "When the row last changed (UTC)."),
    primary_key=("mailbox_id",),
    description="One row per sending Gmail / Google Workspace mailbox: health, warm-up age, cap and pause.",
    checks=(
        Check("mailboxes_status_allowed", _one_of("status", MAILBOX_STATUSES)),
        Check("mailboxes_provider_allowed", f"provider IS NULL OR {_one_of('provider', PROVIDERS)}"),
        Check(
            "mailboxes_daily_cap_within_google",
            f"daily_cap IS NULL OR (daily_cap >= 0 AND daily_cap <= {GOOGLE_DAILY_SEND_LIMIT})",
        ),
        Check("mailboxes_id_lower", "mailbox_id = lower(mailbox_id)"),
    ),
)

CAMPAIGNS = table(
    "outreach",
    "campaigns",
    Column("campaign_id", "text", "Campaign id.", nullable=False),
    Column("org_id", "text", "Organisation running the campaign.", nullable=False),
    Column("name", "text", "Campaign name."),
    Column("track_id", "text", "Track promoted (catalog.tracks.track_id)."),
    Column("track_title", "text", "Track title, as the templates show it."),
    Column(
        "status", "text", "draft, active, paused, stopped or completed: only active campaigns send.", nullable=False
    ),
    Column("created_by", "text", "Who created the campaign."),
    Column("created_at", "timestamp", "When it was created (UTC)."),
    Column("updated_at", "timestamp", "When its status last changed (UTC)."),
    primary_key=("campaign_id",),
    description="One row per outreach campaign: the track promoted and whether it is sending.",
    checks=(Check("campaigns_status_allowed", _one_of("status", CAMPAIGN_STATUSES)),),
)

CAMPAIGN_MAILBOXES = table(
    "outreach",
    "campaign_mailboxes",
    Column("campaign_id", "text", "Campaign.", nullable=False),
    Column("mailbox_id", "text", "Mailbox the campaign sends from.", nullable=False),
    Column("org_id", "text", "Organisation (the campaign's and the mailbox's).", nullable=False),
    primary_key=("campaign_id", "mailbox_id"),
    description="One row per campaign and sender mailbox; prospects are spread over them at enrolment.",
)

TEMPLATES = table(
    "outreach",
    "templates",
    Column("template_id", "text", "Template id.", nullable=False),
    Column(
        "version", "bigint", "Version: an edit adds a version, a sent message names the one it used.", nullable=False
    ),
    Column("org_id", "text", "Organisation owning the template.", nullable=False),
    Column(
        "subject",
        "text",
        "Subject in the row's syntax: {{ track }} (jinja) or $track (string); variables: name, first_name, "
        "company, track, campaign, sender_name.",
    ),
    Column(
        "body",
        "text",
        "Plain-text body in the same syntax; a jinja body with footer 'template' carries {{ unsubscribe_url }}.",
    ),
    Column("created_at", "timestamp", "When the version was written (UTC)."),
    Column(
        "syntax",
        "text",
        "jinja (rendered in Jinja2's sandbox) or string ($name, read as Jinja); null: string, the rows written "
        "before templates were Jinja2.",
    ),
    Column(
        "forbidden_phrases",
        "text",
        "JSON list of claims this template forbids, on top of the defaults (backbeat/outreach/compose.py); "
        "null: the defaults only.",
    ),
    Column("max_subject_chars", "bigint", "Longest subject allowed after rendering; null: 120."),
    Column("max_body_chars", "bigint", "Longest body allowed after rendering; null: 4000."),
    Column(
        "footer",
        "text",
        "template (the body carries {{ unsubscribe_url }}) or engine (the engine appends its unsubscribe "
        "footer); null: engine for a string body without the link, else template.",
    ),
    primary_key=("template_id", "version"),
    description="One row per template version; versions are never edited in place.",
    checks=(
        Check("templates_version_positive", "version >= 1"),
        Check("templates_syntax_allowed", f"syntax IS NULL OR {_one_of('syntax', TEMPLATE_SYNTAXES)}"),
        Check("templates_footer_allowed", f"footer IS NULL OR {_one_of('footer', TEMPLATE_FOOTERS)}"),
        Check(
            "templates_limits_positive",
            "(max_subject_chars IS NULL OR max_subject_chars > 0) AND (max_body_chars IS NULL OR max_body_chars > 0)",
        ),
    ),
)

SEQUENCE_STEPS = table(
    "outreach",
    "sequence_steps",
    Column("campaign_id", "text", "Campaign.", nullable=False),
    Column("step_no", "bigint", "Step number, 1 for the first email, then each follow-up.", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column(
        "delay_hours", "bigint", "Hours after enrolment (step 1) or after the previous step was sent.", nullable=False
    ),
    Column("template_id", "text", "Template rendered for the step.", nullable=False),
    Column("template_version", "bigint", "Template version rendered.", nullable=False),
    Column("window_start_minute", "bigint", "Send window start, minutes after local midnight (0-1439)."),
    Column("window_end_minute", "bigint", "Send window end, minutes after local midnight (1-1440)."),
    Column("window_days", "text", "ISO weekdays the window is open, e.g. 12345 (Monday-Friday)."),
    Column("window_tz", "text", "IANA time zone of the window, e.g. Europe/London."),
    primary_key=("campaign_id", "step_no"),
    description="One row per step of a campaign's sequence: delay, template version and send window.",
    checks=(
        Check("sequence_steps_step_positive", "step_no >= 1"),
        Check("sequence_steps_delay_positive", "delay_hours >= 0"),
        Check(
            "sequence_steps_window_ordered",
            "window_start_minute IS NULL OR window_end_minute IS NULL OR "
            "(window_start_minute >= 0 AND window_start_minute < window_end_minute AND window_end_minute <= 1440)",
        ),
    ),
)

ORG_CONTACTS = table(
    "outreach",
    "org_contacts",
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("contact_id", "text", "Contact id: hash of the lower-cased email (as outreach.contacts).", nullable=False),
    Column("email", "text", "Email address, lower-cased.", nullable=False),
    Column("name", "text", "Contact name."),
    Column("company", "text", "Company or station."),
    Column("consent", "boolean", "Whether the contact agreed to be emailed: without it nothing is sent."),
    Column(
        "provenance",
        "text",
        "import (the contacts CSV), vendor (a bought list) or inbound (wrote to us).",
        nullable=False,
    ),
    Column("source", "text", "Where exactly: file and row, vendor name, or the inbound message id."),
    Column("added_at", "timestamp", "When the organisation got the contact (UTC)."),
    Column("station_id", "text", "airplay.stations station_id when the contact is a monitored station's programmer."),
    primary_key=("org_id", "contact_id"),
    description="One row per organisation and contact it may address, with where the contact came from.",
    checks=(
        Check("org_contacts_provenance_allowed", _one_of("provenance", PROVENANCES)),
        Check("org_contacts_email_lower", "email = lower(email)"),
    ),
)

PROSPECTS = table(
    "outreach",
    "prospects",
    Column("prospect_id", "text", "Prospect id: hash of campaign and contact.", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("campaign_id", "text", "Campaign.", nullable=False),
    Column("contact_id", "text", "Contact (outreach.org_contacts).", nullable=False),
    Column(
        "mailbox_id", "text", "Mailbox assigned at enrolment; every step goes from it (one thread).", nullable=False
    ),
    Column(
        "status",
        "text",
        "active, completed, replied, bounced, unsubscribed, complained, stopped or failed.",
        nullable=False,
    ),
    Column("status_reason", "text", "Why the prospect left `active` (a stop reason or an error)."),
    Column("enrolled_at", "timestamp", "When the prospect joined the campaign (UTC); step 1's delay counts from it."),
    Column("updated_at", "timestamp", "When the status last changed (UTC)."),
    primary_key=("prospect_id",),
    description="One row per campaign and contact: who the campaign emails, from which mailbox, and whether it "
    "still may.",
    checks=(Check("prospects_status_allowed", _one_of("status", PROSPECT_STATUSES)),),
)

THREADS = table(
    "outreach",
    "threads",
    Column("prospect_id", "text", "Prospect.", nullable=False),
    Column("mailbox_id", "text", "Mailbox holding the thread.", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("campaign_id", "text", "Campaign.", nullable=False),
    Column("gmail_thread_id", "text", "Gmail threadId of the conversation.", nullable=False),
    Column("root_message_id", "text", "Message-ID of the first email (the root of References)."),
    Column("created_at", "timestamp", "When the first email was sent (UTC)."),
    primary_key=("prospect_id", "mailbox_id"),
    description="One row per prospect and mailbox: the Gmail thread follow-ups and replies belong to.",
)

OUTBOUND_MESSAGES = table(
    "outreach",
    "outbound_messages",
    Column(
        "idempotency_key", "text", "mailbox|campaign|prospect|step: the one message this key may send.", nullable=False
    ),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("mailbox_id", "text", "Sending mailbox.", nullable=False),
    Column("campaign_id", "text", "Campaign.", nullable=False),
    Column("prospect_id", "text", "Prospect.", nullable=False),
    Column("step_no", "bigint", "Sequence step.", nullable=False),
    Column(
        "message_id",
        "text",
        "RFC 5322 Message-ID (without <>), derived from the key: the same on every attempt.",
        nullable=False,
    ),
    Column("subject", "text", "Subject as sent."),
    Column("template_id", "text", "Template rendered."),
    Column("template_version", "bigint", "Template version rendered."),
    Column("body_sha256", "text", "sha256 (hex) of the rendered plain-text body."),
    Column("in_reply_to", "text", "Message-ID this follow-up answers (null for step 1)."),
    Column("rendered_at", "timestamp", "When the message was rendered, just before its first claim (UTC)."),
    primary_key=("idempotency_key",),
    description="One row per idempotency key: the message it sends, written once with its first claim "
    "(append-only); bodies are not stored here.",
    checks=(Check("outbound_messages_step_positive", "step_no >= 1"),),
    append_only=True,
)

SEND_ATTEMPTS = table(
    "outreach",
    "send_attempts",
    Column("idempotency_key", "text", "mailbox|campaign|prospect|step.", nullable=False),
    Column("attempt_no", "bigint", "1 for the first claim of the key, +1 for each later claim.", nullable=False),
    Column("event", "text", "intent (claim), sent, released, failed, or unknown (audit only).", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("mailbox_id", "text", "Sending mailbox.", nullable=False),
    Column("campaign_id", "text", "Campaign.", nullable=False),
    Column("prospect_id", "text", "Prospect.", nullable=False),
    Column("step_no", "bigint", "Sequence step.", nullable=False),
    Column("recipient_domain", "text", "Domain of the recipient (for the per-domain throttle)."),
    Column("message_id", "text", "RFC 5322 Message-ID of the message (without <>)."),
    Column("gmail_message_id", "text", "Gmail message id (sent only)."),
    Column("gmail_thread_id", "text", "Gmail thread id (sent only)."),
    Column(
        "recovered", "boolean", "sent only: found in the mailbox by its Message-ID rather than sent by this attempt."
    ),
    Column(
        "error_category", "text", "rate_limited, daily_limit, auth_required, rejected, unavailable or outcome_unknown."
    ),
    Column("error_reason", "text", "Google's error reason (e.g. dailyLimitExceeded, invalid_grant)."),
    Column("run_id", "text", "Run that wrote the event."),
    Column("lease_until", "timestamp", "intent only: until then the claim is live and no other run touches the key."),
    Column("occurred_at", "timestamp", "When the event happened (UTC).", nullable=False),
    primary_key=("idempotency_key", "attempt_no", "event"),
    description="Append-only events of each send: a claim (intent) per attempt, then its result; the primary key "
    "lets exactly one run claim an attempt.",
    checks=(
        Check("send_attempts_event_allowed", _one_of("event", SEND_EVENTS)),
        Check("send_attempts_attempt_positive", "attempt_no >= 1"),
        Check(
            "send_attempts_error_allowed", f"error_category IS NULL OR {_one_of('error_category', ERROR_CATEGORIES)}"
        ),
        Check("send_attempts_intent_has_lease", "event <> 'intent' OR lease_until IS NOT NULL"),
        Check("send_attempts_sent_has_gmail_id", "event <> 'sent' OR gmail_message_id IS NOT NULL"),
    ),
    append_only=True,
)

OUTCOMES = table(
    "outreach",
    "outcomes",
    Column(
        "outcome_id",
        "text",
        "Deterministic id: hash of kind and the Gmail message (or source) that showed it.",
        nullable=False,
    ),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column(
        "kind",
        "text",
        "replied, bounced_hard, bounced_soft, auto_reply, unsubscribed, complained, accepted or rejected.",
        nullable=False,
    ),
    Column("campaign_id", "text", "Campaign, when known."),
    Column("prospect_id", "text", "Prospect, when known."),
    Column("contact_id", "text", "Contact, when known."),
    Column("email", "text", "Address the outcome is about (lower-cased)."),
    Column("mailbox_id", "text", "Mailbox that received the signal."),
    Column("step_no", "bigint", "Step the outcome answers, when known."),
    Column("gmail_message_id", "text", "Gmail message carrying the signal (reply, DSN, unsubscribe email)."),
    Column("gmail_thread_id", "text", "Its Gmail thread."),
    Column("detail", "text", "Normalised signal, e.g. DSN status 5.1.1, or the unsubscribe source."),
    Column("occurred_at", "timestamp", "When it happened (the message's internal date; UTC)."),
    Column("recorded_at", "timestamp", "When Backbeat recorded it (UTC).", nullable=False),
    primary_key=("outcome_id",),
    description="Append-only: one row per signal from a prospect (reply, bounce, auto-reply, unsubscribe, "
    "complaint, accept, reject).",
    checks=(Check("outcomes_kind_allowed", _one_of("kind", OUTCOME_KINDS)),),
    append_only=True,
)

SUPPRESSIONS = table(
    "outreach",
    "suppressions",
    Column(
        "suppression_id",
        "text",
        "Deterministic id: hash of organisation, kind, value, reason and source.",
        nullable=False,
    ),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("kind", "text", "email or domain.", nullable=False),
    Column("value", "text", "The address or domain, lower-cased.", nullable=False),
    Column("reason", "text", "unsubscribe, bounce, complaint or manual.", nullable=False),
    Column("source", "text", "Where it came from: one_click, unsubscribe_email, dsn, cli, import..."),
    Column("campaign_id", "text", "Campaign that led to it, when any."),
    Column("actor", "text", "Who or what added it."),
    Column("created_at", "timestamp", "When it was added (UTC); honoured by the very next send.", nullable=False),
    primary_key=("suppression_id",),
    description="Append-only: addresses and domains the organisation must never email again.",
    checks=(
        Check("suppressions_kind_allowed", _one_of("kind", SUPPRESSION_KINDS)),
        Check("suppressions_reason_allowed", _one_of("reason", SUPPRESSION_REASONS)),
        Check("suppressions_value_lower", "value = lower(value)"),
    ),
    append_only=True,
)

ACTIVITY = table(
    "outreach",
    "activity",
    Column("event_id", "text", "Event id (unique).", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("actor", "text", "Who acted: sender, inbox_sync, unsubscribe, cli:<user>, retention...", nullable=False),
    Column(
        "action",
        "text",
        "send, skip, defer, suppress, export, purge, edit, pause, resume, auth_required...",
        nullable=False,
    ),
    Column("subject_type", "text", "What was acted on: prospect, campaign, mailbox, email, domain, organisation."),
    Column("subject_id", "text", "Its id."),
    Column("detail", "text", "JSON with the particulars (reason, key, Message-ID...); never a token or a body."),
    Column("occurred_at", "timestamp", "When (UTC).", nullable=False),
    primary_key=("event_id",),
    description="Append-only audit trail: sends, skips, edits, suppressions, exports and purges, with actor and time.",
    append_only=True,
)

MAILBOX_CHECKPOINTS = table(
    "outreach",
    "mailbox_checkpoints",
    Column("mailbox_id", "text", "Mailbox.", nullable=False),
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("history_id", "text", "Gmail historyId the next users.history.list starts from."),
    Column("last_synced_at", "timestamp", "When the inbox was last synced (UTC)."),
    Column("last_message_at", "timestamp", "Internal date of the newest message seen: a full resync starts there."),
    Column("last_full_sync_at", "timestamp", "When the last full resync (after a 404 history) ran (UTC)."),
    primary_key=("mailbox_id",),
    description="One row per mailbox: where its inbox sync resumes.",
)

MESSAGE_BODIES = table(
    "outreach",
    "message_bodies",
    Column("org_id", "text", "Organisation.", nullable=False),
    Column("message_id", "text", "RFC 5322 Message-ID (outbound) or Gmail message id (inbound).", nullable=False),
    Column("direction", "text", "outbound or inbound.", nullable=False),
    Column("body", "text", "Plain-text body."),
    Column("stored_at", "timestamp", "When it was stored (UTC)."),
    Column("expires_at", "timestamp", "When the retention job deletes it (UTC).", nullable=False),
    primary_key=("org_id", "message_id", "direction"),
    description="Message bodies, stored only when the organisation's retention policy allows and deleted when "
    "it expires.",
    checks=(Check("message_bodies_direction_allowed", _one_of("direction", ("outbound", "inbound"))),),
)

OUTREACH_TABLES = (
    CONTACTS,
    ORGANISATIONS,
    MAILBOXES,
    CAMPAIGNS,
    CAMPAIGN_MAILBOXES,
    TEMPLATES,
    SEQUENCE_STEPS,
    ORG_CONTACTS,
    PROSPECTS,
    THREADS,
    OUTBOUND_MESSAGES,
    SEND_ATTEMPTS,
    OUTCOMES,
    SUPPRESSIONS,
    ACTIVITY,
    MAILBOX_CHECKPOINTS,
    MESSAGE_BODIES,
)
"""Every outreach table, in an order that creates each before anything that names it."""
