"""Setting up outreach: organisations, mailboxes, templates, campaigns with their sequence, contacts, enrolment.

Plain functions over the warehouse for the CLI, the demo, the benchmark and tests. Every change that a person
makes (create, enrol, pause, resume, stop) is written to `outreach.activity` with its actor.

- `create_from_spec` creates a campaign from a checked campaign file (`campaign_file.load_campaign_file`): the
  promoted track (by ISRC, track id or golden recording id, looked up in the catalog), its sender mailboxes
  (connected first, `mailboxes.connect_mailbox`), template versions and steps; then `add_prospects` enrols the
  organisation's consenting contacts from `outreach.contacts`, skipping suppressed addresses and domains and
  anyone who bounced, complained or unsubscribed.
- `change_campaign_status` pauses, resumes or stops (final) a campaign; `stop_contact` stops one person.
- The lower-level helpers (`add_organisation`, `add_mailbox`, `add_template`, `create_campaign`, `enrol`, ...)
  are what tests and the benchmark use to set up a campaign without a file.
Figures (sent today per mailbox, waiting, stopped by reason, the funnel) are in `figures.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from backbeat.outreach.campaign_file import CampaignFileError, CampaignSpec, TrackRef
from backbeat.outreach.ids import contact_id, normalise_email, prospect_id
from backbeat.outreach.pacing import SendWindow
from backbeat.outreach.stops import PROSPECT_STATUS_FOR, stop_reason
from backbeat.outreach.store import insert_row, log_activity
from backbeat.outreach.suppression import suppression_for
from backbeat.outreach.tables import (
    CAMPAIGN_MAILBOXES,
    CAMPAIGNS,
    CONTACTS,
    MAILBOXES,
    ORG_CONTACTS,
    ORGANISATIONS,
    OUTREACH_TABLES,
    PROSPECTS,
    SEQUENCE_STEPS,
    TEMPLATES,
)
from integrations.warehouse import Warehouse, WarehouseConnection


@dataclass(frozen=True)
class Step:
    """A sequence step: `delay_hours` after enrolment (step 1) or the previous send, a template version, a window."""

    delay_hours: int
    template_id: str
    template_version: int = 1
    window: SendWindow | None = None


def ensure_tables(warehouse: Warehouse) -> None:
    """Create every outreach table that is missing."""
    warehouse.ensure(*OUTREACH_TABLES)


def add_organisation(
    warehouse: Warehouse,
    org_id: str,
    name: str,
    *,
    now: datetime,
    daily_cap: int | None = None,
    domain_daily_cap: int | None = None,
    body_retention_days: int | None = None,
) -> None:
    """Create an organisation (a no-op when it exists)."""
    with warehouse.connect() as conn:
        insert_row(
            conn,
            ORGANISATIONS,
            {
                "org_id": org_id,
                "name": name,
                "daily_cap": daily_cap,
                "domain_daily_cap": domain_daily_cap,
                "body_retention_days": body_retention_days,
                "created_at": now,
            },
            ignore_conflict=True,
        )


def add_mailbox(
    warehouse: Warehouse,
    org_id: str,
    address: str,
    *,
    now: datetime,
    display_name: str | None = None,
    provider: str = "workspace",
    created_on: date | None = None,
    daily_cap: int | None = None,
    token_name: str | None = None,
) -> str:
    """Register a sending mailbox (status `ok`); returns its id, the lower-cased address."""
    mailbox_id = normalise_email(address)
    with warehouse.connect() as conn:
        insert_row(
            conn,
            MAILBOXES,
            {
                "mailbox_id": mailbox_id,
                "org_id": org_id,
                "address": address,
                "display_name": display_name,
                "provider": provider,
                "status": "ok",
                "created_on": created_on,
                "daily_cap": daily_cap,
                "token_name": token_name,
                "updated_at": now,
            },
            ignore_conflict=True,
        )
    return mailbox_id


def add_template(warehouse: Warehouse, org_id: str, template_id: str, subject: str, body: str, *, now: datetime) -> int:
    """Add a new version of a template (1 for a new one); returns the version."""
    with warehouse.connect() as conn:
        latest = conn.scalar("SELECT max(version) FROM outreach.templates WHERE template_id = ?", [template_id])
        version = int(latest or 0) + 1
        insert_row(
            conn,
            TEMPLATES,
            {
                "template_id": template_id,
                "version": version,
                "org_id": org_id,
                "subject": subject,
                "body": body,
                "created_at": now,
            },
        )
    return version


def create_campaign(
    warehouse: Warehouse,
    org_id: str,
    campaign_id: str,
    *,
    name: str,
    mailbox_ids: Sequence[str],
    steps: Sequence[Step],
    now: datetime,
    track_id: str | None = None,
    track_title: str | None = None,
    status: str = "active",
    actor: str = "cli",
) -> None:
    """Create a campaign with its sender mailboxes and sequence, in one transaction."""
    with warehouse.connect() as conn:
        create_campaign_in(
            conn,
            org_id,
            campaign_id,
            name=name,
            mailbox_ids=mailbox_ids,
            steps=steps,
            now=now,
            track_id=track_id,
            track_title=track_title,
            status=status,
            actor=actor,
        )


def create_campaign_in(
    conn: WarehouseConnection,
    org_id: str,
    campaign_id: str,
    *,
    name: str,
    mailbox_ids: Sequence[str],
    steps: Sequence[Step],
    now: datetime,
    track_id: str | None = None,
    track_title: str | None = None,
    status: str = "active",
    actor: str = "cli",
) -> None:
    """`create_campaign` inside the caller's transaction."""
    if not mailbox_ids or not steps:
        raise ValueError("a campaign needs at least one mailbox and one step")
    if "|" in campaign_id:
        raise ValueError(f"'|' is not allowed in a campaign id: {campaign_id!r}")
    insert_row(
        conn,
        CAMPAIGNS,
        {
            "campaign_id": campaign_id,
            "org_id": org_id,
            "name": name,
            "track_id": track_id,
            "track_title": track_title,
            "status": status,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        },
    )
    for mailbox in mailbox_ids:
        insert_row(conn, CAMPAIGN_MAILBOXES, {"campaign_id": campaign_id, "mailbox_id": mailbox, "org_id": org_id})
    for number, step in enumerate(steps, start=1):
        window = step.window or SendWindow()
        insert_row(
            conn,
            SEQUENCE_STEPS,
            {
                "campaign_id": campaign_id,
                "step_no": number,
                "org_id": org_id,
                "delay_hours": step.delay_hours,
                "template_id": step.template_id,
                "template_version": step.template_version,
                "window_start_minute": window.start_minute,
                "window_end_minute": window.end_minute,
                "window_days": window.days,
                "window_tz": window.tz,
            },
        )
    log_activity(
        conn,
        org_id=org_id,
        actor=actor,
        action="create",
        subject_type="campaign",
        subject_id=campaign_id,
        at=now,
        detail={"mailboxes": list(mailbox_ids), "steps": len(steps), "status": status},
    )


def set_campaign_status(warehouse: Warehouse, campaign_id: str, status: str, *, now: datetime, actor: str) -> None:
    """Pause, resume (`active`) or stop a campaign; the next send honours it."""
    with warehouse.connect() as conn:
        org_id = conn.scalar("SELECT org_id FROM outreach.campaigns WHERE campaign_id = ?", [campaign_id])
        if org_id is None:
            raise KeyError(f"no campaign {campaign_id!r}")
        conn.execute(
            "UPDATE outreach.campaigns SET status = ?, updated_at = ? WHERE campaign_id = ?",
            [status, now, campaign_id],
        )
        log_activity(
            conn,
            org_id=org_id,
            actor=actor,
            action=status if status != "active" else "resume",
            subject_type="campaign",
            subject_id=campaign_id,
            at=now,
        )


def add_contacts(
    warehouse: Warehouse,
    org_id: str,
    contacts: Iterable[Mapping[str, object]],
    *,
    provenance: str,
    now: datetime,
    source: str | None = None,
) -> list[str]:
    """Add contacts (`email`, `name`, `company`, `consent`) to the organisation's register; existing ones are
    kept as they are. Returns their contact ids, in order."""
    ids = []
    with warehouse.connect() as conn:
        for c in contacts:
            email = normalise_email(str(c["email"]))
            cid = contact_id(email)
            ids.append(cid)
            insert_row(
                conn,
                ORG_CONTACTS,
                {
                    "org_id": org_id,
                    "contact_id": cid,
                    "email": email,
                    "name": c.get("name"),
                    "company": c.get("company"),
                    "consent": bool(c.get("consent", False)),
                    "provenance": provenance,
                    "source": c.get("source", source),
                    "added_at": now,
                },
                ignore_conflict=True,
            )
    return ids


def import_contacts(warehouse: Warehouse, org_id: str, *, now: datetime) -> int:
    """Copy the validated `outreach.contacts` import into the organisation's register (provenance `import`).

    New addresses are added; for contacts that came from the import, name, company and consent follow the
    latest import (a withdrawn consent stops every send to them). Contacts of other provenances are left alone.
    Returns the number of contacts in the import."""
    warehouse.ensure(CONTACTS, ORG_CONTACTS)
    rows = warehouse.query("SELECT email, name, company, consent, source_file, source_row FROM outreach.contacts")
    add_contacts(
        warehouse,
        org_id,
        [{**r, "source": f"{r['source_file']}:{r['source_row']}"} for r in rows.iter_rows(named=True)],
        provenance="import",
        now=now,
    )
    with warehouse.connect() as conn:
        conn.execute(
            "UPDATE outreach.org_contacts SET name = c.name, company = c.company, consent = c.consent "
            "FROM outreach.contacts c WHERE outreach.org_contacts.org_id = ? "
            "AND outreach.org_contacts.provenance = 'import' AND outreach.org_contacts.email = lower(c.email) "
            "AND (outreach.org_contacts.consent IS DISTINCT FROM c.consent "
            "OR outreach.org_contacts.name IS DISTINCT FROM c.name "
            "OR outreach.org_contacts.company IS DISTINCT FROM c.company)",
            [org_id],
        )
    return rows.height


def enrol(warehouse: Warehouse, campaign_id: str, contact_ids: Sequence[str], *, now: datetime) -> list[str]:
    """Make prospects of these contacts, spreading them over the campaign's mailboxes (round robin, sticky: every
    step of a prospect goes from its mailbox). Already enrolled contacts are left as they are."""
    with warehouse.connect() as conn:
        org_id = conn.scalar("SELECT org_id FROM outreach.campaigns WHERE campaign_id = ?", [campaign_id])
        if org_id is None:
            raise KeyError(f"no campaign {campaign_id!r}")
        mailboxes = conn.query(
            "SELECT mailbox_id FROM outreach.campaign_mailboxes WHERE campaign_id = ? ORDER BY mailbox_id",
            [campaign_id],
        )["mailbox_id"].to_list()
        already = conn.scalar("SELECT count(*) FROM outreach.prospects WHERE campaign_id = ?", [campaign_id]) or 0
        ids = []
        for n, cid in enumerate(contact_ids):
            pid = prospect_id(campaign_id, cid)
            ids.append(pid)
            insert_row(
                conn,
                PROSPECTS,
                {
                    "prospect_id": pid,
                    "org_id": org_id,
                    "campaign_id": campaign_id,
                    "contact_id": cid,
                    "mailbox_id": mailboxes[(already + n) % len(mailboxes)],
                    "status": "active",
                    "enrolled_at": now,
                    "updated_at": now,
                },
                ignore_conflict=True,
            )
    return ids


def stop_prospect(warehouse: Warehouse, prospect: str, *, now: datetime, actor: str, reason: str = "manual") -> None:
    """Stop one prospect by hand: no further step is sent to them in this campaign."""
    with warehouse.connect() as conn:
        org_id = conn.scalar("SELECT org_id FROM outreach.prospects WHERE prospect_id = ?", [prospect])
        if org_id is None:
            raise KeyError(f"no prospect {prospect!r}")
        conn.execute(
            "UPDATE outreach.prospects SET status = 'stopped', status_reason = ?, updated_at = ? WHERE prospect_id = ?",
            [reason, now, prospect],
        )
        log_activity(
            conn,
            org_id=org_id,
            actor=actor,
            action="stop",
            subject_type="prospect",
            subject_id=prospect,
            at=now,
            detail={"reason": reason},
        )


# -- campaigns from a file, enrolment with consent and suppressions, pause / resume / stop ------------------


class CampaignError(ValueError):
    """A campaign change that is not allowed (unknown campaign, resuming a stopped one, ...)."""


@dataclass(frozen=True)
class EnrolReport:
    """What adding prospects did: newly enrolled, already enrolled, and contacts skipped by reason."""

    campaign_id: str
    enrolled: int
    already: int
    skipped: dict[str, int]


@dataclass(frozen=True)
class CreateReport:
    """What `create_from_spec` did: whether the campaign is new, template versions added, and the enrolment."""

    campaign_id: str
    created: bool
    templates_added: tuple[str, ...]
    track_id: str
    track_title: str
    enrolment: EnrolReport


def _table_exists(conn: WarehouseConnection, schema: str, name: str) -> bool:
    return bool(
        conn.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
        )
    )


def resolve_track(conn: WarehouseConnection, ref: TrackRef) -> tuple[str, str] | str:
    """(track_id, title) of the promoted track, or a sentence saying why it cannot be found."""
    if ref.kind == "recording_id":
        if not _table_exists(conn, "catalog", "golden_recordings"):
            return "catalog.golden_recordings does not exist yet: materialize catalog/golden_recordings first"
        rows = conn.query(
            "SELECT golden_id AS track_id, title FROM catalog.golden_recordings WHERE golden_id = ?", [ref.value]
        )
    else:
        if not _table_exists(conn, "catalog", "tracks"):
            return "catalog.tracks does not exist yet: materialize catalog/tracks first"
        column = "isrc" if ref.kind == "isrc" else "track_id"
        rows = conn.query(
            f"SELECT track_id, title FROM catalog.tracks WHERE {column} = ? ORDER BY track_id", [ref.value]
        )
    if not rows.height:
        return f"no track with {ref.kind} {ref.value} in the catalog"
    if rows.height > 1:
        return f"{rows.height} catalog tracks have {ref.kind} {ref.value} ({', '.join(rows['track_id'].to_list())})"
    return str(rows.item(0, 0)), str(rows.item(0, 1) or "")


def _spec_steps(spec: CampaignSpec) -> list[Step]:
    return [Step(s.delay_hours, s.template_id, s.template_version, s.window) for s in spec.steps]


def _stored_shape(conn: WarehouseConnection, campaign_id: str) -> dict[str, Any] | None:
    """What an existing campaign was created with, to compare with a file naming the same id."""
    campaign = conn.query("SELECT org_id, track_id FROM outreach.campaigns WHERE campaign_id = ?", [campaign_id])
    if not campaign.height:
        return None
    mailboxes = conn.query(
        "SELECT mailbox_id FROM outreach.campaign_mailboxes WHERE campaign_id = ? ORDER BY mailbox_id", [campaign_id]
    )["mailbox_id"].to_list()
    steps = conn.query(
        "SELECT delay_hours, template_id, template_version, window_start_minute, window_end_minute, window_days, "
        "window_tz FROM outreach.sequence_steps WHERE campaign_id = ? ORDER BY step_no",
        [campaign_id],
    )
    return {
        "org": campaign.item(0, 0),
        "track_id": campaign.item(0, 1),
        "mailboxes": sorted(mailboxes),
        "steps": [Step(r[0], r[1], r[2], SendWindow(r[3], r[4], r[5], r[6])) for r in steps.iter_rows()],
    }


def _check_against_warehouse(conn: WarehouseConnection, spec: CampaignSpec) -> tuple[list[str], tuple[str, str]]:
    """Problems only the warehouse can show (unknown organisation, mailbox, track, template; a changed
    template version), each naming the file, line and field; and the resolved track."""
    problems: list[str] = []
    if not conn.scalar("SELECT count(*) FROM outreach.organisations WHERE org_id = ?", [spec.org_id]):
        problems.append(
            f"{spec.where('org')}: organisation {spec.org_id!r} is unknown: connect its mailboxes first "
            f"(backbeat outreach mailbox connect ADDRESS --org {spec.org_id} --refresh-token-env VAR)"
        )
    for n, address in enumerate(spec.mailboxes, start=1):
        owner = conn.query("SELECT org_id, status FROM outreach.mailboxes WHERE mailbox_id = ?", [address])
        if not owner.height:
            problems.append(
                f"{spec.where(f'mailboxes[{n}]')}: {address} is not connected "
                f"(backbeat outreach mailbox connect {address} --org {spec.org_id} --refresh-token-env VAR)"
            )
        elif owner.item(0, 0) != spec.org_id:
            problems.append(f"{spec.where(f'mailboxes[{n}]')}: {address} belongs to organisation {owner.item(0, 0)!r}")
    track = resolve_track(conn, spec.track)
    if isinstance(track, str):
        problems.append(f"{spec.where(f'track.{spec.track.kind}')}: {track}")
        track = ("", "")
    in_file = {(t.template_id, t.version): t for t in spec.templates}
    for n, template in enumerate(spec.templates, start=1):
        stored = conn.query(
            "SELECT org_id, subject, body FROM outreach.templates WHERE template_id = ? AND version = ?",
            [template.template_id, template.version],
        )
        if stored.height:
            org, subject, body = stored.row(0)
            if org != spec.org_id:
                problems.append(
                    f"{spec.where(f'templates[{n}].id')}: template {template.template_id} belongs to {org!r}"
                )
            elif (subject, body) != (template.subject, template.body):
                latest = conn.scalar(
                    "SELECT max(version) FROM outreach.templates WHERE template_id = ?", [template.template_id]
                )
                problems.append(
                    f"{spec.where(f'templates[{n}]')}: template {template.template_id} version {template.version} "
                    f"already exists with another text; versions are never edited: add version {int(latest) + 1}"
                )
    for n, step in enumerate(spec.steps, start=1):
        key = (step.template_id, step.template_version)
        if key in in_file:
            continue
        if not conn.scalar(
            "SELECT count(*) FROM outreach.templates WHERE template_id = ? AND version = ? AND org_id = ?",
            [step.template_id, step.template_version, spec.org_id],
        ):
            problems.append(
                f"{spec.where(f'steps[{n}].template')}: template {step.template_id} version "
                f"{step.template_version} is neither in this file's templates nor stored for {spec.org_id}"
            )
    return problems, track


def create_from_spec(
    warehouse: Warehouse, spec: CampaignSpec, *, now: datetime, actor: str = "cli", status: str = "active"
) -> CreateReport:
    """Create the campaign a checked file describes (templates, campaign, mailboxes, steps) in one
    transaction, then enrol its contacts (`add_prospects`).

    Creating the same file again adds only new prospects (so a re-run is safe); a file that names an existing
    campaign with other mailboxes, steps or track is refused: a running sequence is never edited in place."""
    ensure_tables(warehouse)
    created = False
    added: list[str] = []
    with warehouse.connect() as conn:
        problems, (track_id, track_title) = _check_against_warehouse(conn, spec)
        if problems:
            raise CampaignFileError(spec.path, problems)
        existing = _stored_shape(conn, spec.campaign_id)
        wanted = {
            "org": spec.org_id,
            "track_id": track_id,
            "mailboxes": sorted(spec.mailboxes),
            "steps": _spec_steps(spec),
        }
        if existing is not None:
            changed = [k for k in wanted if wanted[k] != existing[k]]
            if changed:
                raise CampaignFileError(
                    spec.path,
                    [
                        f"{spec.where('campaign_id')}: campaign {spec.campaign_id} already exists with other "
                        f"{', '.join(changed)}; a running sequence is not edited: use a new campaign_id"
                    ],
                )
        else:
            for template in spec.templates:
                if not conn.scalar(
                    "SELECT count(*) FROM outreach.templates WHERE template_id = ? AND version = ?",
                    [template.template_id, template.version],
                ):
                    insert_row(
                        conn,
                        TEMPLATES,
                        {
                            "template_id": template.template_id,
                            "version": template.version,
                            "org_id": spec.org_id,
                            "subject": template.subject,
                            "body": template.body,
                            "created_at": now,
                        },
                    )
                    added.append(f"{template.template_id} v{template.version}")
            create_campaign_in(
                conn,
                spec.org_id,
                spec.campaign_id,
                name=spec.name,
                mailbox_ids=list(spec.mailboxes),
                steps=_spec_steps(spec),
                now=now,
                track_id=track_id,
                track_title=track_title,
                status=status,
                actor=actor,
            )
            created = True
    with warehouse.connect() as conn:
        current = _campaign(conn, spec.campaign_id)["status"]
        enrolled = int(
            conn.scalar("SELECT count(*) FROM outreach.prospects WHERE campaign_id = ?", [spec.campaign_id]) or 0
        )
    if current in ("stopped", "completed"):  # its file may stay in the inbox: nothing more to do, not an error
        enrolment = EnrolReport(spec.campaign_id, 0, enrolled, {})
    else:
        enrolment = add_prospects(warehouse, spec.campaign_id, emails=spec.contacts, now=now, actor=actor)
    return CreateReport(spec.campaign_id, created, tuple(added), track_id, track_title, enrolment)


def _campaign(conn: WarehouseConnection, campaign_id: str) -> dict[str, Any]:
    rows = conn.query("SELECT org_id, status FROM outreach.campaigns WHERE campaign_id = ?", [campaign_id])
    if not rows.height:
        raise CampaignError(f"no campaign {campaign_id!r}")
    return rows.row(0, named=True)


def add_prospects(
    warehouse: Warehouse,
    campaign_id: str,
    *,
    emails: Sequence[str] | None = None,
    now: datetime,
    actor: str = "cli",
) -> EnrolReport:
    """Enrol the organisation's contacts (refreshed from `outreach.contacts` first) in the campaign.

    Only contacts with consent; never a suppressed address or domain, nor an address that bounced hard,
    complained or unsubscribed anywhere in the organisation. `emails` limits it to those contacts (an address
    that is not a contact is skipped as `not_a_contact`). Already enrolled contacts are counted, not changed."""
    ensure_tables(warehouse)
    with warehouse.connect() as conn:
        campaign = _campaign(conn, campaign_id)
    if campaign["status"] in ("stopped", "completed"):
        raise CampaignError(f"campaign {campaign_id} is {campaign['status']}: no prospects can be added")
    org_id = campaign["org_id"]
    import_contacts(warehouse, org_id, now=now)
    skipped: Counter[str] = Counter()
    chosen: list[str] = []
    already = 0
    with warehouse.connect() as conn:
        contacts = conn.query(
            "SELECT c.contact_id, c.email, c.consent, "
            "EXISTS (SELECT 1 FROM outreach.prospects p WHERE p.campaign_id = ? AND p.contact_id = c.contact_id) "
            "AS enrolled FROM outreach.org_contacts c WHERE c.org_id = ? ORDER BY c.contact_id",
            [campaign_id, org_id],
        )
        stopped = set(
            conn.query(
                "SELECT DISTINCT email FROM outreach.outcomes WHERE org_id = ? "
                "AND kind IN ('bounced_hard', 'complained', 'unsubscribed') AND email IS NOT NULL",
                [org_id],
            )["email"].to_list()
        )
        by_email = {r["email"]: r for r in contacts.iter_rows(named=True)}
        wanted = (
            [normalise_email(e) for e in emails]
            if emails is not None
            else sorted(by_email, key=lambda e: by_email[e]["contact_id"])
        )
        for email in dict.fromkeys(wanted):
            row = by_email.get(email)
            if row is None:
                skipped["not_a_contact"] += 1
            elif row["enrolled"]:
                already += 1
            elif not row["consent"]:
                skipped["no_consent"] += 1
            elif email in stopped:
                skipped["bounced_or_unsubscribed"] += 1
            else:
                try:
                    hit = suppression_for(conn, org_id, email)
                except ValueError:
                    skipped["invalid_address"] += 1
                    continue
                if hit is not None:
                    skipped[f"suppressed_{hit.kind}"] += 1
                else:
                    chosen.append(row["contact_id"])
    enrol(warehouse, campaign_id, chosen, now=now)
    report = EnrolReport(campaign_id, len(chosen), already, dict(sorted(skipped.items())))
    with warehouse.connect() as conn:
        log_activity(
            conn,
            org_id=org_id,
            actor=actor,
            action="enrol",
            subject_type="campaign",
            subject_id=campaign_id,
            at=now,
            detail={"enrolled": report.enrolled, "already": report.already, "skipped": report.skipped},
        )
    return report


_TRANSITIONS = {
    "paused": ("active", "draft"),
    "active": ("paused", "draft"),
    "stopped": ("active", "paused", "draft"),
}


def change_campaign_status(
    warehouse: Warehouse, campaign_id: str, status: str, *, now: datetime, actor: str = "cli"
) -> str:
    """Pause (`paused`), resume (`active`) or stop (`stopped`) a campaign, refusing what makes no sense
    (resuming a stopped campaign, pausing a paused one). Returns the previous status.

    Stopping is final: the campaign's active prospects become `stopped` (reason `campaign_stopped`). The
    send engine reads the campaign's status right before every send, so the very next pass honours it."""
    if status not in _TRANSITIONS:
        raise CampaignError(f"status must be one of {', '.join(_TRANSITIONS)}, not {status!r}")
    ensure_tables(warehouse)
    with warehouse.connect() as conn:
        current = _campaign(conn, campaign_id)["status"]
    if current == status:
        raise CampaignError(f"campaign {campaign_id} is already {status}")
    if current not in _TRANSITIONS[status]:
        raise CampaignError(f"campaign {campaign_id} is {current}: it cannot become {status}")
    set_campaign_status(warehouse, campaign_id, status, now=now, actor=actor)
    if status == "stopped":
        with warehouse.connect() as conn:
            conn.execute(
                "UPDATE outreach.prospects SET status = 'stopped', status_reason = 'campaign_stopped', "
                "updated_at = ? WHERE campaign_id = ? AND status = 'active'",
                [now, campaign_id],
            )
    return str(current)


def stop_contact(warehouse: Warehouse, campaign_id: str, email: str, *, now: datetime, actor: str = "cli") -> str:
    """Stop one person in a campaign by hand (reason `manual`); returns their prospect id."""
    ensure_tables(warehouse)
    pid = prospect_id(campaign_id, contact_id(email))
    with warehouse.connect() as conn:
        _campaign(conn, campaign_id)
        status = conn.scalar("SELECT status FROM outreach.prospects WHERE prospect_id = ?", [pid])
    if status is None:
        raise CampaignError(f"{normalise_email(email)} is not a prospect of campaign {campaign_id}")
    if status != "active":
        raise CampaignError(f"{normalise_email(email)} is already {status} in campaign {campaign_id}")
    stop_prospect(warehouse, pid, now=now, actor=actor)
    return pid


def stop_prospects_with_stop_signals(warehouse: Warehouse, *, now: datetime, actor: str = "suppressions") -> int:
    """Record on every active prospect the stop rule about the person that now applies (replied, bounced,
    complained, unsubscribed, suppressed address or domain, consent withdrawn), as the send engine records it
    when it comes by (`stops.stop_reason`, `stops.PROSPECT_STATUS_FOR`); returns how many were stopped.

    The engine evaluates the rules again right before each send regardless: this only makes the prospect list
    and the figures say so before the next pass."""
    ensure_tables(warehouse)
    stopped = 0
    with warehouse.connect() as conn:
        active = conn.query(
            "SELECT prospect_id, org_id, campaign_id, mailbox_id FROM outreach.prospects WHERE status = 'active' "
            "ORDER BY prospect_id"
        )
        for pid, org_id, campaign_id, mailbox_id in active.iter_rows():
            reason = stop_reason(conn, pid, mailbox_id, now)
            status = PROSPECT_STATUS_FOR.get(reason or "")
            if status is None:
                continue
            conn.execute(
                "UPDATE outreach.prospects SET status = ?, status_reason = ?, updated_at = ? "
                "WHERE prospect_id = ? AND status = 'active'",
                [status, reason, now, pid],
            )
            log_activity(
                conn,
                org_id=org_id,
                actor=actor,
                action="stop",
                subject_type="prospect",
                subject_id=pid,
                at=now,
                detail={"reason": reason, "campaign_id": campaign_id},
            )
            stopped += 1
    return stopped
