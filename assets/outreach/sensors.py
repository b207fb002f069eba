"""Outreach's sensors: campaign files, discovery files, the send pass every few minutes, and each mailbox's inbox.

Inbox polling is ONE sensor that iterates the mailboxes, with a cursor per mailbox, rather than a sensor per
mailbox built by a factory: the mailboxes live in the warehouse (`outreach.mailboxes`) and the code location
must load without it, so a factory would need a configured list that drifts from what was connected. Each
mailbox is a partition of `outreach/outcomes` (`outreach_mailboxes`, added here as mailboxes appear), so every
mailbox still has its own runs, history and failures in the UI. Per tick and per mailbox (at most every
`poll_seconds`), the sensor reads the mailbox's Gmail `historyId` (`users.getProfile`, 1 quota unit) and asks for
a sync run only when it moved past the stored checkpoint; the run reads history from that checkpoint.
"""

import json
from datetime import UTC, datetime

from dagster import (
    AddDynamicPartitionsRequest,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.common.inbox import inbox_run
from assets.common.paths import DataDirResource
from assets.outreach.jobs import (
    outreach_campaigns_job,
    outreach_inbox_job,
    outreach_prospecting_job,
    outreach_send_job,
)
from assets.outreach.partitions import mailbox_partitions
from assets.outreach.resources import OutreachResource
from backbeat.outreach.mailboxes import mark_auth_required
from backbeat.outreach.runtime import client_factory, due_now
from backbeat.outreach.tables import OUTREACH_TABLES
from integrations.gmail import AuthRequired, GmailError
from integrations.warehouse import WarehouseResource

SEND_INTERVAL_S = 120
_ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


@sensor(job=outreach_campaigns_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def outreach_campaign_files_sensor(context: SensorEvaluationContext, data_dir: DataDirResource):
    """Watches `inbox/outreach/`: a new or changed `contacts.csv` or campaign file (`campaigns/*.yaml`) creates
    the campaign and enrols the new consenting contacts."""
    return inbox_run(context, data_dir.inbox / "outreach", ("contacts.csv", "campaigns"), "outreach")


@sensor(job=outreach_prospecting_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def outreach_discovery_files_sensor(context: SensorEvaluationContext, data_dir: DataDirResource):
    """Watches `inbox/outreach/discovery/`: a new or changed discovery file runs prospecting (discover, enrich
    under the credit budget, screen, rank); a search already paid for within its `refresh_days` is not repeated."""
    return inbox_run(context, data_dir.inbox / "outreach", ("discovery",), "outreach-discovery")


@sensor(job=outreach_send_job, minimum_interval_seconds=SEND_INTERVAL_S, default_status=DefaultSensorStatus.RUNNING)
def outreach_send_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource, outreach: OutreachResource):
    """Every two minutes: when a step is due and no send pass is running, start one (`outreach_send_job`).

    The pass itself decides what the limits allow; a step held back by pacing is picked up by a later pass."""
    if not outreach.configured:
        return SensorResult(skip_reason=f"outreach not configured: set {', '.join(outreach.missing())}")
    due, later = due_now(warehouse.client())  # its engine ensures the outreach tables
    if not due:
        return SensorResult(skip_reason=f"nothing due; next at {later:%Y-%m-%d %H:%M} UTC" if later else "nothing due")
    running = context.instance.get_run_records(RunsFilter(job_name=outreach_send_job.name, statuses=_ACTIVE), limit=1)
    if running:
        return SensorResult(skip_reason=f"{due} due, but a send pass is running")
    now = datetime.now(UTC)
    return SensorResult(
        run_requests=[RunRequest(run_key=f"send|{now:%Y%m%dT%H%M%S}", tags={"backbeat/due_steps": str(due)})]
    )


@sensor(job=outreach_inbox_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def outreach_inbox_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource, outreach: OutreachResource):
    """Polls each mailbox's Gmail history id and runs its inbox sync (`outreach/outcomes`, one partition per
    mailbox) when new mail arrived since its checkpoint. A revoked grant marks that mailbox `auth_required`
    with an alert; the other mailboxes go on. See the module docstring for why this is one sensor."""
    if not outreach.configured:
        return SensorResult(skip_reason=f"outreach not configured: set {', '.join(outreach.missing())}")
    db = warehouse.client()
    db.ensure(*OUTREACH_TABLES)
    mailboxes = db.query(
        "SELECT m.mailbox_id, m.status, c.history_id FROM outreach.mailboxes m "
        "LEFT JOIN outreach.mailbox_checkpoints c ON c.mailbox_id = m.mailbox_id ORDER BY m.mailbox_id"
    )
    state: dict[str, dict] = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(mailbox_partitions.name))
    new_partitions = sorted(set(mailboxes["mailbox_id"].to_list()) - known)
    now = datetime.now(UTC).timestamp()
    client_for = client_factory(outreach.settings().gmail)
    requests, notes = [], []
    for mailbox_id, status, checkpoint in mailboxes.iter_rows():
        seen = state.get(mailbox_id, {})
        if status == "auth_required":
            notes.append(f"{mailbox_id}: auth_required")
            continue
        if now - seen.get("polled", 0) < outreach.poll_seconds:
            continue
        try:
            _, history_id = client_for(mailbox_id).profile()
        except AuthRequired as exc:
            alert = mark_auth_required(db, mailbox_id, exc.reason, actor="outreach_inbox_sensor")
            context.log.error(alert or f"{mailbox_id} still needs re-authorisation")
            continue
        except GmailError as exc:
            context.log.warning(f"{mailbox_id}: history id not read ({type(exc).__name__} {exc.reason})")
            continue
        state[mailbox_id] = {"polled": now, "history": history_id}
        if history_id != checkpoint:
            requests.append(RunRequest(run_key=f"inbox|{mailbox_id}|{history_id}", partition_key=mailbox_id))
    cursor = json.dumps(state, sort_keys=True)
    additions = [AddDynamicPartitionsRequest(mailbox_partitions.name, new_partitions)] if new_partitions else []
    if not requests:
        return SensorResult(
            skip_reason="no new mail" + (f" ({'; '.join(notes)})" if notes else ""),
            cursor=cursor,
            dynamic_partitions_requests=additions,
        )
    return SensorResult(run_requests=requests, cursor=cursor, dynamic_partitions_requests=additions)


OUTREACH_SENSORS = [
    outreach_campaign_files_sensor,
    outreach_discovery_files_sensor,
    outreach_send_sensor,
    outreach_inbox_sensor,
]
