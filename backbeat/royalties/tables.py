"""Warehouse tables owned by the royalties domain.

The ledger is append-only: lines are never updated or deleted (on PostgreSQL a trigger refuses it; everywhere the
hash chain of `ledger_chain` finds it). A posting batch has a deterministic id
(station, day, tariff, revision); when what a station-day should pay changes (a split approved or corrected,
a dispute opened or resolved, a tariff fixed), the active batch is reversed by a `reversal` batch and a new
revision is posted.
"""

from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from integrations.warehouse import Column, table
from integrations.warehouse.tables import Check, ForeignKey


def _one_of(column: str, values: tuple[str, ...] | list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


TARIFFS = table(
    "royalties",
    "tariffs",
    Column("tariff_id", "text", "Tariff id: {station_id}:{effective_from}.", nullable=False),
    Column("station_id", "text", "Station the rate applies to."),
    Column("currency", "text", "ISO 4217 currency code."),
    Column("rate_per_second", "decimal", "Currency units owed per second of airplay."),
    Column("effective_from", "date", "First day the rate applies."),
    Column("effective_to", "date", "First day it no longer applies (the next rate's start); null: open-ended."),
    primary_key=("tariff_id",),
    description="One row per station rate and its validity period.",
)

RECEIVABLE = "station_receivable"
PAYABLE = "party_payable"
SUSPENSE = "suspense"
HOLD = "hold"
CASH = "cash"
FX_CLEARING = "fx_clearing"
FX_ROUNDING = "fx_rounding"
"""Account names, shared by every ledger (royalty, contract and FX) and every module that reads or posts them."""

ACCOUNTS = (RECEIVABLE, PAYABLE, SUSPENSE, HOLD, CASH)
ENTRY_KINDS = ("posting", "reversal", "payout")
CURRENCIES = tuple(sorted(MINOR_UNIT_EXPONENT))
CHAIN_COLUMNS = ("chain_stream", "chain_seq", "lines_hash", "chain_hash")
CREDITS = (PAYABLE, SUSPENSE, HOLD)
AMOUNT_SIGN = (
    "amount_minor = 0 "
    "OR (entry_kind = 'posting' AND ((account = 'station_receivable' AND amount_minor > 0) "
    f"OR ({_one_of('account', CREDITS)} AND amount_minor < 0))) "
    "OR (entry_kind = 'reversal' AND ((account = 'station_receivable' AND amount_minor < 0) "
    f"OR ({_one_of('account', CREDITS)} AND amount_minor > 0))) "
    "OR (entry_kind = 'payout' AND ((account = 'party_payable' AND amount_minor > 0) "
    "OR (account = 'cash' AND amount_minor < 0)))"
)
"""Which side each account may take: postings debit the station and credit parties, suspense or hold;
reversals the opposite; payouts debit the party's payable and credit cash. Zero is allowed (a zero rate)."""

LEDGER_BATCHES = table(
    "royalties",
    "ledger_batches",
    Column(
        "batch_id",
        "text",
        "Deterministic batch id: {station}|{day}|{tariff}|r{revision}, "
        "{reversed batch}|reversal, or payout|{payout_id}.",
        nullable=False,
    ),
    Column("batch_kind", "text", "posting, reversal or payout.", nullable=False),
    Column("station_id", "text", "Station of the station-day (null for payouts)."),
    Column("posted_for", "date", "UTC day the batch relates to."),
    Column("accounting_period", "text", "Month (YYYY-MM) the batch is reported in."),
    Column("tariff_id", "text", "Tariff that priced the batch's plays."),
    Column("revision", "bigint", "1 for a station-day's first posting, +1 for each correction."),
    Column("basis_hash", "text", "Hash of the lines the batch posts: equal hash, nothing to post again."),
    Column("reverses_batch_id", "text", "Batch this one reverses (reversal batches only)."),
    Column("reason", "text", "Why the batch was posted (first posting, split approved, dispute, tariff, payout)."),
    Column("lines", "bigint", "Number of lines in the batch."),
    Column("debit_minor", "bigint", "Sum of the batch's positive amounts, in minor units."),
    Column("currency", "text", "ISO 4217 currency code."),
    Column("posted_at", "timestamp", "When the batch was posted (naive UTC)."),
    Column("chain_stream", "text", "Hash chain the batch belongs to: station|{station}|{day} or party|{party}."),
    Column("chain_seq", "bigint", "Position in its chain: 1, 2, … (a gap is a deleted batch)."),
    Column("lines_hash", "text", "sha256 of the batch's lines (every column, by line_no)."),
    Column("chain_hash", "text", "sha256 of the previous batch's chain_hash in the stream and this header."),
    primary_key=("batch_id",),
    description="One row per ledger batch, append-only: what was posted, why, and what it reverses; each header "
    "seals its lines and chains to the previous batch of its stream (royalties.ledger_chain).",
    checks=(
        Check("ledger_batches_kind_allowed", _one_of("batch_kind", ENTRY_KINDS)),
        Check("ledger_batches_currency_allowed", _one_of("currency", CURRENCIES)),
    ),
    append_only=True,
    seal_columns=CHAIN_COLUMNS,
)


LEDGER = table(
    "royalties",
    "royalty_ledger",
    Column("batch_id", "text", "Posting batch (royalties.ledger_batches); every batch sums to zero.", nullable=False),
    Column("line_no", "bigint", "Line number within the batch.", nullable=False),
    Column("entry_kind", "text", "posting, reversal or payout.", nullable=False),
    Column("posted_for", "date", "UTC day the amount relates to: the plays' day, or the payout's day."),
    Column("accounting_period", "text", "Month (YYYY-MM) the line is reported in on statements."),
    Column("station_id", "text", "Station whose airplay is paid for (null for payouts)."),
    Column("play_id", "text", "Play that earned the amount (airplay.playlogs); null for payouts."),
    Column("recording_id", "text", "Recording played (catalog.tracks.track_id); null for payouts."),
    Column("account", "text", "station_receivable, party_payable, suspense, hold or cash."),
    Column("party_id", "text", "Party credited or paid (party_payable and hold lines)."),
    Column("amount_minor", "bigint", "Signed amount in minor units: debit positive, credit negative."),
    Column("currency", "text", "ISO 4217 currency code."),
    Column("tariff_id", "text", "Tariff that priced the play."),
    Column("posted_at", "timestamp", "When the batch was posted (naive UTC)."),
    primary_key=("batch_id", "line_no"),
    description="Append-only double-entry royalty ledger: one row per line; every batch sums to zero.",
    checks=(
        Check("royalty_ledger_account_allowed", _one_of("account", ACCOUNTS)),
        Check("royalty_ledger_currency_allowed", _one_of("currency", CURRENCIES)),
        Check("royalty_ledger_entry_kind_allowed", _one_of("entry_kind", ENTRY_KINDS)),
        Check("royalty_ledger_amount_sign", AMOUNT_SIGN),
    ),
    foreign_keys=(ForeignKey("royalty_ledger_batch_exists", ("batch_id",), LEDGER_BATCHES, ("batch_id",)),),
    append_only=True,
)

RESTATEMENT_QUEUE = table(
    "royalties",
    "restatement_queue",
    Column("station_id", "text", "Station of the station-day to re-post.", nullable=False),
    Column("play_date", "date", "UTC day to re-post.", nullable=False),
    Column("reason", "text", "What changed upstream (split approved or corrected, dispute, tariff)."),
    Column("requested_at", "timestamp", "When the change was seen (UTC); the restatement sensor's cursor."),
    description="Station-days whose royalty batch may need correcting, queued by the asset that saw the change.",
)

DISPUTE_EVENTS = table(
    "royalties",
    "dispute_events",
    Column("dispute_id", "text", "Dispute id.", nullable=False),
    Column("play_id", "text", "Disputed play (airplay.playlogs).", nullable=False),
    Column("status", "text", "Step reached: pending, verified, resolving, review, resolved.", nullable=False),
    Column("resolution", "text", "On resolved only: upheld (the play is not paid) or rejected (paid as posted)."),
    Column("actor", "text", "Who took the step (station, artist, analyst).", nullable=False),
    Column("stepped_at", "timestamp", "When the step was taken (UTC).", nullable=False),
    Column("note", "text", "Why."),
    Column("source_file", "text", "Dispute file the event was read from."),
    Column("source_row", "bigint", "Line in that file."),
    Column(
        "role",
        "text",
        "Role the actor took the step in (station, artist, analyst, rights_admin); null: recorded before roles.",
    ),
    primary_key=("dispute_id", "status"),
    description="One row per step of a dispute: Pending → Verified → Resolving → Review → Resolved.",
)

DISPUTE_ACTIONS = ("step", "comment", "attach")

DISPUTE_ACTIVITY = table(
    "royalties",
    "dispute_activity",
    Column("dispute_id", "text", "Dispute id.", nullable=False),
    Column("seq", "bigint", "1, 2, … per dispute, in the order the entries were recorded.", nullable=False),
    Column("action", "text", "step, comment or attach.", nullable=False),
    Column("status", "text", "The step reached (step) or the dispute's step at the time (comment, attach)."),
    Column("resolution", "text", "On the resolved step only: upheld or rejected."),
    Column("role", "text", "Role the actor acted in: station, artist, analyst or rights_admin (null: before roles)."),
    Column("actor", "text", "Who recorded the entry.", nullable=False),
    Column("acted_at", "timestamp", "When (naive UTC).", nullable=False),
    Column("note", "text", "The comment's text, or why the step was taken or the evidence attached."),
    Column("evidence_sha256", "text", "attach: sha256 of the file, its name in the evidence store."),
    Column("evidence_name", "text", "attach: the file's name when attached."),
    Column("evidence_type", "text", "attach: media type judged from the file's content."),
    Column("evidence_bytes", "bigint", "attach: size in bytes."),
    Column("source_file", "text", "Dispute file the entry was read from."),
    Column("source_row", "bigint", "Line in that file."),
    primary_key=("dispute_id", "seq"),
    description="One row per entry of a dispute's audit trail: its steps, its comment thread and its evidence "
    "(with each file's sha256), who recorded it in which role, and when.",
    checks=(Check("dispute_activity_action_allowed", _one_of("action", DISPUTE_ACTIONS)),),
)

DISPUTES = table(
    "royalties",
    "disputes",
    Column("dispute_id", "text", "Dispute id.", nullable=False),
    Column("play_id", "text", "Disputed play.", nullable=False),
    Column("station_id", "text", "Station of the play."),
    Column("play_date", "date", "UTC day of the play."),
    Column("opened_by", "text", "Who opened the dispute."),
    Column("opened_at", "timestamp", "When it was opened (UTC)."),
    Column("status", "text", "Current step: pending, verified, resolving, review or resolved."),
    Column("resolution", "text", "upheld or rejected once resolved; null before."),
    Column("updated_at", "timestamp", "When the current step was taken (UTC)."),
    primary_key=("dispute_id",),
    description="One row per dispute, at its current step; an unresolved dispute holds the play's credits.",
)

PARTY_STATEMENTS = table(
    "royalties",
    "party_statements",
    Column("period", "text", "Statement month, YYYY-MM.", nullable=False),
    Column("party_id", "text", "Party the statement is for.", nullable=False),
    Column("currency", "text", "ISO 4217 currency code.", nullable=False),
    Column("opening_minor", "bigint", "Owed to the party at the start of the month, minor units."),
    Column("earnings_minor", "bigint", "Earned by plays first posted in the month."),
    Column("adjustments_minor", "bigint", "Corrections booked in the month (reversals and re-postings)."),
    Column("payouts_minor", "bigint", "Paid out in the month (negative: reduces what is owed)."),
    Column("closing_minor", "bigint", "Owed at the end: opening + earnings + adjustments + payouts."),
    Column("held_minor", "bigint", "The party's credits sitting in hold for disputed plays (not in closing)."),
    Column(
        "status",
        "text",
        "final (the month is closed: these figures never change) or provisional (the month is open).",
    ),
    primary_key=("period", "party_id", "currency"),
    description="One row per party, month and currency: the monthly royalty statement's totals.",
)

STATEMENT_LINES = table(
    "royalties",
    "statement_lines",
    Column("period", "text", "Statement month, YYYY-MM.", nullable=False),
    Column("party_id", "text", "Party.", nullable=False),
    Column("currency", "text", "ISO 4217 currency code.", nullable=False),
    Column("line_type", "text", "earnings, adjustment or payout.", nullable=False),
    Column("recording_id", "text", "Recording that earned the amount (null for payouts)."),
    Column("station_id", "text", "Station that played it (null for payouts)."),
    Column("plays", "bigint", "Plays behind the amount."),
    Column("amount_minor", "bigint", "Amount owed to the party, minor units (positive: owed)."),
    Column("corrects_period", "text", "Adjustments only: the month (YYYY-MM) of the plays the adjustment corrects."),
    description="One row per party, month, line type, recording, station and corrected month: the statement's detail.",
)

PAYOUTS = table(
    "royalties",
    "payouts",
    Column("payout_id", "text", "Payout request id.", nullable=False),
    Column("party_id", "text", "Party to be paid.", nullable=False),
    Column("currency", "text", "ISO 4217 currency code."),
    Column("amount_minor", "bigint", "Amount requested, minor units."),
    Column("requested_on", "date", "Day the request was made."),
    Column("status", "text", "requested, approved, rejected or paid."),
    Column("decided_by", "text", "Who approved or rejected."),
    Column("note", "text", "Why (e.g. below the minimum payout, exceeds the balance)."),
    Column("paid_on", "date", "Day it was paid; its payout batch is posted on that day."),
    Column("batch_id", "text", "Ledger batch that posted the payment."),
    primary_key=("payout_id",),
    description="One row per payout request and what became of it.",
)

PERIOD_STATUSES = ("closed", "open")
PERIOD_ACTIONS = ("close", "reopen")

PERIODS = table(
    "royalties",
    "periods",
    Column("period", "text", "Month, YYYY-MM.", nullable=False),
    Column("status", "text", "closed (statements final) or open (reopened: statements provisional again)."),
    Column("version", "bigint", "How many times the month has been closed: 1 for the first close."),
    Column("closed_by", "text", "Who closed it last."),
    Column("closed_at", "timestamp", "When it was closed last (naive UTC)."),
    Column("reopened_by", "text", "Who reopened it last (null if never)."),
    Column("reopened_at", "timestamp", "When it was reopened last (naive UTC)."),
    Column("reopen_reason", "text", "Why it was reopened last."),
    Column("statements_sha256", "text", "sha256 over the frozen statement documents of the last close."),
    primary_key=("period",),
    description="One row per month that has ever been closed: its current state. A month without a row is open; "
    "every close and reopen is also in royalties.period_events.",
    checks=(Check("periods_status_allowed", _one_of("status", PERIOD_STATUSES)),),
)

PERIOD_EVENTS = table(
    "royalties",
    "period_events",
    Column("period", "text", "Month, YYYY-MM.", nullable=False),
    Column("seq", "bigint", "1, 2, … per month, in the order the actions were taken.", nullable=False),
    Column("action", "text", "close or reopen.", nullable=False),
    Column("actor", "text", "Who took the action.", nullable=False),
    Column("acted_at", "timestamp", "When (naive UTC).", nullable=False),
    Column("reason", "text", "Why (required to reopen)."),
    Column("statements_sha256", "text", "On close: sha256 over the statement documents frozen by it."),
    primary_key=("period", "seq"),
    description="Audit trail of period closes and reopenings, append-only: one row per action.",
    checks=(Check("period_events_action_allowed", _one_of("action", PERIOD_ACTIONS)),),
    append_only=True,
)

FROZEN_STATEMENTS = table(
    "royalties",
    "frozen_statements",
    Column("period", "text", "Statement month, YYYY-MM.", nullable=False),
    Column("version", "bigint", "The close that froze it (royalties.periods.version).", nullable=False),
    Column("party_id", "text", "Party.", nullable=False),
    Column("currency", "text", "ISO 4217 currency code.", nullable=False),
    Column(
        "document",
        "text",
        "The statement as JSON: names, balances, earnings by track and station, "
        "adjustments with the month they correct, payouts (royalties.statement_people).",
        nullable=False,
    ),
    Column("document_sha256", "text", "sha256 of `document`."),
    Column("frozen_at", "timestamp", "When the close froze it (naive UTC)."),
    primary_key=("period", "version", "party_id", "currency"),
    description="One row per party, currency and close of a month: the final statement as it was sent, never "
    "changed (a reopen and a new close add a new version).",
    append_only=True,
)

CONTRACT_ACCOUNTS = (PAYABLE, "advance_recoupable", "reserve", CASH)
CONTRACT_BATCH_KINDS = ("advance", "share", "recoupment", "reserve_hold", "reserve_release")

CONTRACT_TERMS = table(
    "royalties",
    "contract_terms",
    Column("term_id", "text", "Term id (one version of a party's terms under a contract).", nullable=False),
    Column("contract_id", "text", "Contract (rights.contracts) the term belongs to.", nullable=False),
    Column("party_id", "text", "Party the term pays.", nullable=False),
    Column("currency", "text", "ISO 4217 currency the term's amounts are in.", nullable=False),
    Column("valid_from", "date", "First day the term applies (an advance is paid that day).", nullable=False),
    Column("valid_to", "date", "Last day the term applies; null: open-ended."),
    Column("source_party_id", "text", "Party whose receipts the share is of (e.g. the label); null: own earnings."),
    Column("share_bp", "bigint", "Share of the source party's receipts, basis points (10000 = 100 %)."),
    Column("advance_minor", "bigint", "Advance paid on valid_from, recouped from the contract's earnings."),
    Column("minimum_payout_minor", "bigint", "Balances below this are not payable and carry forward."),
    Column("reserve_bp", "bigint", "Share of the earnings left after recoupment held in reserve, basis points."),
    Column("reserve_periods", "bigint", "Months a reserve is held: released in the month N after it was held."),
    Column("note", "text", "Terms in words."),
    primary_key=("term_id",),
    description="One row per version of a party's financial terms under a contract, with its validity dates.",
    checks=(
        Check("contract_terms_currency_allowed", _one_of("currency", CURRENCIES)),
        Check("contract_terms_share_range", "share_bp IS NULL OR (share_bp >= 0 AND share_bp <= 10000)"),
        Check("contract_terms_reserve_range", "reserve_bp IS NULL OR (reserve_bp >= 0 AND reserve_bp <= 10000)"),
    ),
)

CONTRACT_LEDGER = table(
    "royalties",
    "contract_ledger",
    Column(
        "batch_id",
        "text",
        "Deterministic batch id: {kind}|{contract}|{party}|{currency}|{for_period}|r{revision} "
        "(share batches: share|{term_id}|{for_period}|r{revision}); every batch sums to zero.",
        nullable=False,
    ),
    Column("line_no", "bigint", "Line number within the batch.", nullable=False),
    Column("batch_kind", "text", "advance, share, recoupment, reserve_hold or reserve_release.", nullable=False),
    Column("revision", "bigint", "1 for the month's first batch of its kind, +1 for each correction."),
    Column("contract_id", "text", "Contract whose terms caused the batch."),
    Column("term_id", "text", "Term (royalties.contract_terms) of a share batch; null for the others."),
    Column("for_period", "text", "Month (YYYY-MM) whose earnings the batch is computed from."),
    Column(
        "accounting_period", "text", "Month the line is reported in (the first open month if for_period is closed)."
    ),
    Column("posted_for", "date", "Day the amount relates to: the signing day (advances) or the month's last day."),
    Column("account", "text", "party_payable, advance_recoupable, reserve or cash."),
    Column("party_id", "text", "Party whose account the line moves."),
    Column("amount_minor", "bigint", "Signed amount in minor units: debit positive, credit negative."),
    Column("currency", "text", "ISO 4217 currency code."),
    Column("reason", "text", "Why the batch was posted."),
    Column("posted_at", "timestamp", "When the batch was posted (naive UTC)."),
    primary_key=("batch_id", "line_no"),
    description="Append-only double-entry ledger of what contract terms do to parties' balances (advances, shares "
    "of another party's receipts, recoupment, reserves held and released); every batch sums to zero per currency, "
    "party_payable lines add to royalties.royalty_ledger's.",
    checks=(
        Check("contract_ledger_account_allowed", _one_of("account", CONTRACT_ACCOUNTS)),
        Check("contract_ledger_kind_allowed", _one_of("batch_kind", CONTRACT_BATCH_KINDS)),
        Check("contract_ledger_currency_allowed", _one_of("currency", CURRENCIES)),
    ),
    append_only=True,
)

FX_ACCOUNTS = (PAYABLE, FX_CLEARING, FX_ROUNDING)

FX_RATES = table(
    "royalties",
    "fx_rates",
    Column("base", "text", "ISO 4217 currency converted from (the currency the station is billed in).", nullable=False),
    Column("quote", "text", "ISO 4217 currency converted to (the party's payout currency).", nullable=False),
    Column("effective_on", "date", "Day the rate is for: a conversion on that day uses it.", nullable=False),
    Column("rate", "decimal", "Units of `quote` for one unit of `base`, exact (at most 6 decimal places)."),
    Column("source", "text", "Who published the rate (e.g. ECB reference rate)."),
    Column("source_file", "text", "File the rate was read from."),
    Column("source_row", "bigint", "Line in that file (header is line 1)."),
    primary_key=("base", "quote", "effective_on"),
    description="One row per currency pair and day: the exchange rate conversions of that day are booked at.",
    checks=(
        Check("fx_rates_base_allowed", _one_of("base", CURRENCIES)),
        Check("fx_rates_quote_allowed", _one_of("quote", CURRENCIES)),
        Check("fx_rates_pair_differs", "base <> quote"),
        Check("fx_rates_rate_positive", "rate > 0"),
    ),
)

PAYOUT_CURRENCIES = table(
    "royalties",
    "payout_currencies",
    Column("party_id", "text", "Party.", nullable=False),
    Column("payout_currency", "text", "ISO 4217 currency the party is paid in; null: paid in what it earned."),
    Column("source_file", "text", "File the choice was read from."),
    Column("source_row", "bigint", "Line in that file (header is line 1)."),
    primary_key=("party_id",),
    description="One row per party paid in another currency than its stations are billed in.",
    checks=(
        Check(
            "payout_currencies_currency_allowed", f"payout_currency IS NULL OR {_one_of('payout_currency', CURRENCIES)}"
        ),
    ),
)

FX_LEDGER = table(
    "royalties",
    "fx_ledger",
    Column(
        "batch_id",
        "text",
        "Deterministic batch id: fx|{party}|{from}|{to}|{period}|r{n} (n: 1, then +1 for each later conversion "
        "of the same month); every batch sums to zero per currency.",
        nullable=False,
    ),
    Column("line_no", "bigint", "Line number within the batch.", nullable=False),
    Column("party_id", "text", "Party whose balance is converted."),
    Column("from_currency", "text", "Currency the balance was owed in (billed)."),
    Column("to_currency", "text", "Currency it is owed in after the batch (payout)."),
    Column("rate", "decimal", "Units of to_currency per unit of from_currency (royalties.fx_rates)."),
    Column("rate_source", "text", "Who published the rate."),
    Column("converted_on", "date", "Day of the conversion: the rate is the one effective that day."),
    Column("for_period", "text", "Month (YYYY-MM) whose closing balance is converted."),
    Column(
        "accounting_period", "text", "Month the line is reported in (the first open month if for_period is closed)."
    ),
    Column("account", "text", "party_payable, fx_clearing or fx_rounding."),
    Column("currency", "text", "ISO 4217 currency of the line."),
    Column(
        "amount_nanos",
        "bigint",
        "Signed exact amount in billionths (1e-9) of the currency unit: debit positive, credit negative.",
    ),
    Column("amount_minor", "bigint", "The same in minor units when whole (party_payable lines always are); else null."),
    Column("posted_at", "timestamp", "When the batch was posted (naive UTC)."),
    primary_key=("batch_id", "line_no"),
    description="Append-only ledger of currency conversions: per batch the party's balance leaves the billed "
    "currency through fx_clearing and arrives in the payout currency rounded half-even to minor units, the "
    "rounding difference on fx_rounding; every batch sums to zero per currency, party_payable lines add to "
    "royalties.royalty_ledger's.",
    checks=(
        Check("fx_ledger_account_allowed", _one_of("account", FX_ACCOUNTS)),
        Check("fx_ledger_currency_allowed", _one_of("currency", CURRENCIES)),
    ),
    append_only=True,
)
