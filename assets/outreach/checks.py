"""Outreach checks: the three promises, read back from the warehouse after every send pass."""

from dagster import AssetCheckResult, asset_check

from assets.common.keys import OUTREACH_SENDS
from backbeat.outreach.figures import SENDS_AFTER_STOP_SQL, campaign_ids
from backbeat.outreach.mailboxes import mailbox_health
from integrations.warehouse import WarehouseResource


@asset_check(asset=OUTREACH_SENDS, description="No step was sent twice: one `sent` per campaign, prospect and step.")
def no_step_sent_twice(warehouse: WarehouseResource) -> AssetCheckResult:
    """Never twice: across attempts and mailboxes, a (campaign, prospect, step) has at most one `sent` event."""
    twice = warehouse.client().query(
        "SELECT campaign_id, prospect_id, step_no, count(*) AS sends FROM outreach.send_attempts "
        "WHERE event = 'sent' GROUP BY campaign_id, prospect_id, step_no HAVING count(*) > 1"
    )
    return AssetCheckResult(passed=twice.height == 0, metadata={"steps_sent_twice": twice.height})


@asset_check(asset=OUTREACH_SENDS, description="Nothing was sent to a person after a stop signal was recorded.")
def nothing_sent_after_a_stop(warehouse: WarehouseResource) -> AssetCheckResult:
    """Never to the wrong person: no send was claimed after a reply, bounce, complaint, unsubscribe or
    suppression of that person was recorded (`backbeat.outreach.figures.SENDS_AFTER_STOP_SQL`)."""
    db = warehouse.client()
    per_campaign = {cid: int(db.scalar(SENDS_AFTER_STOP_SQL, [cid]) or 0) for cid in campaign_ids(db)}
    bad = {cid: n for cid, n in per_campaign.items() if n}
    return AssetCheckResult(
        passed=not bad, metadata={"sends_after_a_stop": sum(bad.values()), "campaigns": ", ".join(bad) or "-"}
    )


@asset_check(asset=OUTREACH_SENDS, description="No mailbox sent more than its daily cap in any rolling 24 hours.")
def mailboxes_within_daily_caps(warehouse: WarehouseResource) -> AssetCheckResult:
    """Never past a limit: for every send, the mailbox's sends in the 24 h up to it stay within its cap."""
    db = warehouse.client()
    caps = {m.mailbox_id: m.daily_cap for m in mailbox_health(db)}
    peaks = db.query(
        "SELECT a.mailbox_id, max((SELECT count(DISTINCT b.idempotency_key) FROM outreach.send_attempts b "
        "WHERE b.mailbox_id = a.mailbox_id AND b.event = 'sent' "
        "AND b.occurred_at > a.occurred_at - INTERVAL '24 hours' AND b.occurred_at <= a.occurred_at)) AS peak "
        "FROM outreach.send_attempts a WHERE a.event = 'sent' "
        "GROUP BY a.mailbox_id"
    )
    over = {m: int(p) for m, p in peaks.iter_rows() if m in caps and p > caps[m]}
    return AssetCheckResult(
        passed=not over,
        metadata={"mailboxes_over_cap": ", ".join(f"{m} {p}/{caps[m]}" for m, p in over.items()) or "-"},
    )


OUTREACH_CHECKS = [no_step_sent_twice, nothing_sent_after_a_stop, mailboxes_within_daily_caps]
