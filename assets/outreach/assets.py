"""Outreach assets: the prospects campaigns may email (validated and de-duplicated), campaigns from their files,
suppressions, one send pass, each mailbox's inbox outcomes and the bodies' retention."""

import hashlib
from collections import Counter
from collections.abc import Iterator

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
    multi_asset,
)

from assets.common.keys import (
    OUTREACH_CAMPAIGNS,
    OUTREACH_CONTACTS,
    OUTREACH_MAILBOXES,
    OUTREACH_MESSAGE_BODIES,
    OUTREACH_OUTCOMES,
    OUTREACH_SENDS,
    OUTREACH_SUPPRESSIONS,
)
from assets.common.metadata import preview, table_metadata
from assets.common.partitions import one_run_per_partition
from assets.common.paths import DataDirResource
from assets.common.table_specs import table_key, table_spec
from assets.outreach.partitions import mailbox_partitions
from assets.outreach.resources import OutreachResource
from backbeat.common import csvfiles as f
from backbeat.common.quarantine import record_rejects
from backbeat.common.reference import keep_last_good
from backbeat.outreach.campaign_file import CampaignFileError, load_campaign_file
from backbeat.outreach.campaigns import CampaignError, create_from_spec, stop_prospects_with_stop_signals
from backbeat.outreach.clock import utcnow
from backbeat.outreach.figures import CampaignFigures, campaign_figures, campaign_ids
from backbeat.outreach.mailboxes import check_mailboxes, mailbox_health
from backbeat.outreach.retention import expire_bodies
from backbeat.outreach.runtime import client_factory, send_pass, sync_one
from backbeat.outreach.tables import (
    CONTACTS,
    OUTBOUND_MESSAGES,
    PROSPECTS,
    SEND_ATTEMPTS,
    SEQUENCE_STEPS,
)
from integrations.warehouse import Table, Warehouse, WarehouseResource

EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"


def consent(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("yes", "no"):
        raise f.FieldError("must be yes or no")
    return lowered == "yes"


CONTACT_FIELDS = {
    "email": lambda v: f.matching(EMAIL, "an email address")(v).lower(),
    "name": f.text,
    "company": f.optional_text,
    "country": f.optional_text,
    "consent": consent,
}


@asset(key=["outreach", "contacts"], group_name="outreach", kinds={"csv", "sql"})
def contacts(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per prospect from `inbox/outreach/contacts.csv`, keyed by lower-cased email.

    Malformed emails, missing names, consent other than yes/no and duplicate emails go to
    `quarantine.rejected_rows` with file, row and field.
    """
    parsed = f.reject_duplicates(
        f.read_csv(data_dir.inbox / "outreach" / "contacts.csv", CONTACT_FIELDS), lambda r: r["email"], "email"
    )
    frame = CONTACTS.from_rows(
        [
            {
                **r,
                "contact_id": hashlib.sha1(r["email"].encode()).hexdigest()[:12],
                "source_file": r["_source_file"],
                "source_row": r["_row"],
            }
            for r in parsed.rows
        ]
    )
    db = warehouse.client()
    rejected_keys, unknown = parsed.rejected_keys({"email": CONTACT_FIELDS["email"]})
    kept = keep_last_good(
        db,
        CONTACTS,
        "outreach/contacts",
        frame,
        complete=parsed.complete,
        inbox=data_dir.inbox,
        key=["email"],
        rejected_keys=rejected_keys,
        unknown_rejects=unknown,
        log=context.log.warning,
    )
    frame = kept.frame
    record_rejects(db, "outreach/contacts", "", parsed.rejects, context.log.warning)
    return MaterializeResult(
        metadata=table_metadata(
            frame.drop("email"),
            rejected_rows=len(parsed.rejects),
            consenting=int(frame["consent"].sum()) if frame.height else 0,
            **kept.metadata(),
        )
    )


@asset_check(asset=contacts, description="Contact ids and emails are unique.")
def contacts_have_unique_emails(warehouse: WarehouseResource) -> AssetCheckResult:
    row = (
        warehouse.client()
        .query(
            "SELECT count(*) AS n, count(DISTINCT email) AS emails, count(DISTINCT contact_id) AS ids "
            "FROM outreach.contacts"
        )
        .row(0, named=True)
    )
    return AssetCheckResult(passed=row["n"] == row["emails"] == row["ids"], metadata=row)


# -- campaigns, sends, inbox outcomes, suppressions, bodies retention ----------------------------------------
# Thin: each asset calls the outreach core (backbeat/outreach/) once and returns figures a person reads in the UI.

CAMPAIGN_FILES = "campaigns"
"""Folder under `inbox/outreach/` holding campaign files (YAML/JSON, `backbeat/outreach/campaign_file.py`)."""


def _md_counts(counts: dict[str, int] | Counter, empty: str = "_none_") -> MetadataValue:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return MetadataValue.md("\n".join(f"- {k}: {n}" for k, n in items) if items else empty)


def _side_tables(db: Warehouse, tables: tuple[Table, ...]) -> Iterator[MaterializeResult]:
    """The row counts of the tables a multi-asset writes beside its main output."""
    for table in tables:
        count = int(db.scalar(f"SELECT count(*) FROM {table.qualified_name}") or 0)
        yield MaterializeResult(asset_key=table_key(table), metadata={"dagster/row_count": count})


def _campaign_table(frames: list[CampaignFigures]) -> MetadataValue:
    rows = [
        {
            "campaign": c.campaign_id,
            "status": c.status,
            "prospects": c.prospects,
            "waiting": c.waiting,
            "stopped": ", ".join(f"{r} {n}" for r, n in c.stopped.items()) or "-",
            "sent (step 1..n)": " / ".join(str(s.sent) for s in c.funnel),
            "replied": sum(s.outcomes.get("replied", 0) for s in c.funnel),
            "bounced": sum(s.outcomes.get("bounced_hard", 0) for s in c.funnel),
            "unsubscribed": sum(s.outcomes.get("unsubscribed", 0) for s in c.funnel),
            "sent after a stop": c.sends_after_stop,
        }
        for c in frames
    ]
    return preview(pl.DataFrame(rows) if rows else pl.DataFrame(), rows=50)


CAMPAIGNS_DOC = """One row per campaign (`outreach.campaigns`, with its sequence steps, sender mailboxes and
prospects, one per campaign × contact), from the campaign files in `inbox/outreach/campaigns/` (YAML or JSON).

Each file is applied as `backbeat outreach campaign create FILE` applies it: a new campaign is created with
its template versions; an existing one only enrols contacts added to `outreach/contacts` since (consenting,
not suppressed, never bounced/complained/unsubscribed), so re-running is safe. A file with problems is
reported (file, line, field) and skipped; the others go on. Campaigns created from the command line show
here too. Metadata: per campaign prospects, waiting, stopped by reason, sent per step, replies, bounces.
"""


@multi_asset(
    name="outreach__campaigns",
    specs=[
        AssetSpec(
            OUTREACH_CAMPAIGNS,
            deps=[OUTREACH_CONTACTS],
            group_name="outreach",
            kinds={"yaml", "sql"},
            description=CAMPAIGNS_DOC,
        ),
        table_spec(SEQUENCE_STEPS, "outreach", "outreach/campaigns", {"sql"}, deps=[OUTREACH_CONTACTS]),
        table_spec(PROSPECTS, "outreach", "outreach/campaigns", {"sql"}, deps=[OUTREACH_CONTACTS]),
    ],
)
def campaigns(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """`outreach/campaigns` with its sequence steps and prospects (see `CAMPAIGNS_DOC`, shown in the UI)."""
    db = warehouse.client()
    folder = data_dir.inbox / "outreach" / CAMPAIGN_FILES
    files = (
        sorted(p for p in folder.glob("*") if p.suffix.lower() in (".yaml", ".yml", ".json")) if folder.exists() else []
    )
    now = utcnow()
    problems: list[str] = []
    enrolled = created = 0
    for path in files:
        try:
            report = create_from_spec(db, load_campaign_file(path), now=now, actor="dagster:outreach/campaigns")
        except (CampaignFileError, CampaignError) as exc:
            problems += getattr(exc, "problems", [str(exc)])
            context.log.error(f"campaign file refused: {exc}")
            continue
        created += int(report.created)
        enrolled += report.enrolment.enrolled
    figures = [campaign_figures(db, cid, now=now) for cid in campaign_ids(db)]
    yield MaterializeResult(
        asset_key=OUTREACH_CAMPAIGNS,
        metadata={
            "dagster/row_count": len(figures),
            "campaign_files": len(files),
            "campaigns_created": created,
            "prospects_enrolled": enrolled,
            "prospects": sum(f.prospects for f in figures),
            "waiting": sum(f.waiting for f in figures),
            "campaigns": _campaign_table(figures),
            "file_problems": MetadataValue.md("\n".join(f"- `{p}`" for p in problems) or "_none_"),
        },
    )
    yield from _side_tables(db, (SEQUENCE_STEPS, PROSPECTS))


@asset(key=OUTREACH_MAILBOXES, group_name="outreach", kinds={"gmail", "sql"})
def mailboxes(
    context: AssetExecutionContext, warehouse: WarehouseResource, outreach: OutreachResource
) -> MaterializeResult:
    """One row per sending mailbox (`outreach.mailboxes`): address, organisation, status `ok` / `degraded` /
    `auth_required`, daily cap and pause. Rows are added by `backbeat outreach mailbox connect` (a person grants
    access); materializing this asset probes every mailbox's grant (a token refresh and a profile read, 1 Gmail
    quota unit each) and records its health: a revoked grant becomes `auth_required` (an alert; only its sends
    pause), Gmail failing becomes `degraded`. Metadata: health per mailbox and sends in the last 24 h.
    """
    db = warehouse.client()
    if not outreach.configured:
        context.log.warning(f"outreach is not configured (set {', '.join(outreach.missing())}): no mailbox probed")
        health = mailbox_health(db)
    else:
        health = check_mailboxes(db, outreach.settings().gmail, actor="dagster:outreach/mailboxes")
    by_status = Counter(h.status for h in health)
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(health),
            "mailboxes_by_status": _md_counts(by_status),
            "health": MetadataValue.md("\n".join(f"- {h.line()}" for h in health) or "_no mailbox connected_"),
        }
    )


@asset(key=OUTREACH_SUPPRESSIONS, deps=[OUTREACH_CAMPAIGNS], group_name="outreach", kinds={"sql"})
def suppressions(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """One row per suppressed address or domain per organisation (`outreach.suppressions`, append-only), written
    where it happens: the one-click unsubscribe service, the inbox sync (hard bounces, unsubscribe emails,
    complaints) and `backbeat outreach suppress`.

    Materializing it records on the active prospects the stop that now applies to them (replied, bounced,
    unsubscribed, complained, suppressed address or domain, consent withdrawn), so the figures show them; the
    send engine evaluates the same rules right before every send whether or not this ran. Metadata: suppressed
    targets by reason and by source, prospects stopped now.
    """
    db = warehouse.client()
    stopped = stop_prospects_with_stop_signals(db, now=utcnow(), actor="dagster:outreach/suppressions")
    rows = db.query(
        "SELECT org_id, kind, reason, coalesce(source, '-') AS source, count(DISTINCT value) AS targets "
        "FROM outreach.suppressions GROUP BY org_id, kind, reason, coalesce(source, '-') ORDER BY org_id, kind, reason"
    )
    by_reason: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for r in rows.iter_rows(named=True):
        by_reason[f"{r['kind']} {r['reason']}"] += r["targets"]
        by_source[r["source"]] += r["targets"]
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(db.scalar("SELECT count(*) FROM outreach.suppressions") or 0),
            "targets_by_reason": _md_counts(by_reason),
            "targets_by_source": _md_counts(by_source),
            "prospects_stopped_now": stopped,
            "preview": preview(rows),
        }
    )


SENDS_DOC = """The send passes: each materialization is one pass of the send engine, appending to
`outreach.send_attempts` (one row per send event: a claim, then sent / released / failed, keyed by mailbox ×
campaign × prospect × step, with the Gmail message id of what went out) and `outreach.outbound_messages`.

One pass of the send engine (`backbeat.outreach.sender`): every due step that the stop rules and the limits
(mailbox, organisation and domain caps over a rolling 24 h, Gmail's quota, the send window) allow now goes
out exactly once through its mailbox's Gmail. A mailbox whose grant was revoked becomes `auth_required`
(alert) and only its sends wait. Metadata: sent this run, per mailbox today, waiting, stopped by reason,
skipped/deferred by reason, mailbox health.
"""
SENDS_DEPS = [OUTREACH_CAMPAIGNS, OUTREACH_SUPPRESSIONS]


@multi_asset(
    name="outreach__sends",
    specs=[
        AssetSpec(
            OUTREACH_SENDS, deps=SENDS_DEPS, group_name="outreach", kinds={"gmail", "sql"}, description=SENDS_DOC
        ),
        table_spec(SEND_ATTEMPTS, "outreach", "outreach/sends", {"sql"}, deps=SENDS_DEPS),
        table_spec(OUTBOUND_MESSAGES, "outreach", "outreach/sends", {"sql"}, deps=SENDS_DEPS),
    ],
)
def sends(
    context: AssetExecutionContext, warehouse: WarehouseResource, outreach: OutreachResource
) -> Iterator[MaterializeResult]:
    """`outreach/sends` with the send attempts and outbound messages it appends (see `SENDS_DOC`)."""
    db = warehouse.client()
    if not outreach.configured:
        context.log.warning(f"outreach is not configured (set {', '.join(outreach.missing())}): nothing sent")
        yield MaterializeResult(
            asset_key=OUTREACH_SENDS,
            metadata={"sent_this_run": 0, "not_configured": ", ".join(outreach.missing())},
        )
        yield from _side_tables(db, (SEND_ATTEMPTS, OUTBOUND_MESSAGES))
        return
    report = send_pass(db, outreach.settings(), run_id=context.run.run_id[:12], actor="dagster:outreach/sends")
    now = utcnow()
    figures = [campaign_figures(db, cid, now=now) for cid in campaign_ids(db)]
    health = mailbox_health(db, now=now)
    alerts = [
        f"{m.mailbox_id} needs re-authorisation ({m.status_reason})" for m in health if m.status == "auth_required"
    ]
    for line in alerts:
        context.log.error(f"ALERT outreach mailbox {line}")
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = dict(
        db.query(
            "SELECT mailbox_id, count(DISTINCT idempotency_key) FROM outreach.send_attempts "
            "WHERE event = 'sent' AND occurred_at >= ? GROUP BY mailbox_id",
            [midnight],
        ).iter_rows()
    )
    stopped: Counter[str] = Counter()
    for figure in figures:
        stopped.update(figure.stopped)
    yield MaterializeResult(
        asset_key=OUTREACH_SENDS,
        metadata={
            "sent_this_run": report.sent,
            "recovered_this_run": report.recovered,
            "failed_this_run": report.failed,
            "waiting": sum(f.waiting for f in figures),
            "stopped_by_reason": _md_counts(stopped),
            "skipped_by_reason": _md_counts(report.skipped),
            "deferred_by_reason": _md_counts(report.deferred),
            "released_by_reason": _md_counts(report.released),
            "sent_today_per_mailbox": _md_counts({m: int(n) for m, n in today.items()}),
            "mailbox_health": MetadataValue.md("\n".join(f"- {m.line()}" for m in health) or "_no mailboxes_"),
            "alerts": MetadataValue.md("\n".join(f"- {a}" for a in alerts) or "_none_"),
            "next_due": MetadataValue.text(f"{report.next_wake:%Y-%m-%d %H:%M:%S} UTC" if report.next_wake else "-"),
        },
    )
    yield from _side_tables(db, (SEND_ATTEMPTS, OUTBOUND_MESSAGES))


@asset(
    key=OUTREACH_OUTCOMES,
    deps=[OUTREACH_SENDS],
    partitions_def=mailbox_partitions,
    backfill_policy=one_run_per_partition,
    group_name="outreach",
    kinds={"gmail", "sql"},
)
def outcomes(
    context: AssetExecutionContext, warehouse: WarehouseResource, outreach: OutreachResource
) -> MaterializeResult:
    """One row per signal a person sent back (`outreach.outcomes`, append-only: replied, bounced hard/soft,
    auto-reply, unsubscribed, complained), partitioned by the mailbox that received it.

    One sync of the mailbox's inbox (`backbeat.outreach.inbox_sync`) from its stored Gmail `historyId`
    (`users.history.list`, metadata only), with a full resync when the history has expired (404). Hard
    bounces, unsubscribe emails and complaints also add suppressions. Started by `outreach_inbox_sensor` when the
    mailbox's history moved. A revoked grant marks the mailbox `auth_required` and fails the run (the alert).
    """
    mailbox_id = context.partition_key
    db = warehouse.client()
    if not outreach.configured:
        raise Failure(f"outreach is not configured (set {', '.join(outreach.missing())})")
    settings = outreach.settings()
    synced = sync_one(db, client_factory(settings.gmail), mailbox_id, unsubscribe_key=settings.unsubscribe_key or None)
    if synced.result is None:
        raise Failure(
            f"inbox sync of {mailbox_id} failed: {synced.error}",
            metadata={"alert": MetadataValue.text(synced.alert or "-")},
        )
    r = synced.result
    return MaterializeResult(
        metadata={
            "messages_seen": r.messages_seen,
            "outcomes_added": _md_counts(r.outcomes),
            "signals": _md_counts(r.signals),
            "suppressions_added": r.suppressions_added,
            "full_resync": r.resynced,
            "gmail_units": r.units_spent,
            "history_id": MetadataValue.text(r.history_id),
        }
    )


@asset(key=OUTREACH_MESSAGE_BODIES, deps=[OUTREACH_OUTCOMES], group_name="outreach", kinds={"sql"})
def message_bodies(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Message bodies kept under each organisation's retention policy (`outreach.message_bodies`; none unless
    the organisation sets `body_retention_days`): this deletes the bodies whose retention expired.

    Run daily by `outreach_retention_schedule`. Metadata: bodies deleted per organisation, bodies kept.
    """
    db = warehouse.client()
    deleted = expire_bodies(db, now=utcnow(), actor="dagster:outreach/message_bodies")
    return MaterializeResult(
        metadata={
            "deleted_by_org": _md_counts({k: int(v) for k, v in deleted.items()}),
            "dagster/row_count": int(db.scalar("SELECT count(*) FROM outreach.message_bodies") or 0),
        }
    )
