"""`backbeat outreach ...`: campaigns, mailboxes, suppressions, one send or inbox-sync pass, the one-click
unsubscribe service, and an organisation's export and purge.

    backbeat outreach mailbox connect promo@label.example --org label --refresh-token-env PROMO_TOKEN
    backbeat outreach mailbox status
    backbeat outreach campaign create campaign.yaml      # see backbeat/outreach/campaign_file.py
    backbeat outreach campaign pause|resume|stop CAMPAIGN
    backbeat outreach campaign status [CAMPAIGN]
    backbeat outreach suppress person@example.com --org label [--reason manual]
    backbeat outreach send                                # one pass; the Dagster sensor does this every few minutes
    backbeat outreach sync                                # one inbox sync of every mailbox
    backbeat outreach unsubscribe-server --host 127.0.0.1 --port 8025
    backbeat outreach export ORG [--to DIR]  /  backbeat outreach purge ORG --yes
    backbeat outreach discover FILE                       # see backbeat/outreach/discovery_file.py
    backbeat outreach enrich ORG --budget 200 [--max-domains N]
    backbeat outreach score CAMPAIGN [--mood dreamy ...]
    backbeat outreach preview TEMPLATE VERSION --context values.json
    backbeat outreach drafts [--org ORG] [--status pending_approval]
    backbeat outreach approve|reject DRAFT --by NAME
    backbeat outreach consent grant ORG EMAIL... --by NAME --basis TEXT

Settings come from the environment (`backbeat.outreach.runtime.OutreachSettings.from_env`): the warehouse
(`BACKBEAT_WAREHOUSE_URL`), Gmail (`BACKBEAT_GMAIL_CLIENT_ID`, `BACKBEAT_GMAIL_CLIENT_SECRET`, and
`BACKBEAT_GMAIL_API_URL` / `BACKBEAT_GMAIL_TOKEN_URI` to point at a local stand-in), the token store
(`BACKBEAT_SECRET_KEY`, `BACKBEAT_GMAIL_TOKEN_DIR`), the unsubscribe links (`BACKBEAT_UNSUBSCRIBE_URL`,
`BACKBEAT_UNSUBSCRIBE_KEY`) and the prospecting providers (`DATAFORSEO_LOGIN`, `DATAFORSEO_PASSWORD`,
`DATAFORSEO_URL`; `BACKBEAT_EMAILFINDER_API_KEY`, `BACKBEAT_EMAILFINDER_URL`). A refresh token is read from an
environment variable named on the command line, so it never appears in a shell history or a process list; no
command prints a token.

This is a module-level click group; `backbeat.cli` attaches it to the `backbeat` group.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from backbeat.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def _warehouse(ctx: click.Context):  # noqa: ANN202 - imported lazily to keep `backbeat --help` fast
    from integrations.warehouse import Warehouse

    return Warehouse(_settings(ctx).warehouse_url)


def _outreach_settings(ctx: click.Context):  # noqa: ANN202
    from backbeat.outreach.runtime import OutreachSettings

    return OutreachSettings.from_env(ctx.obj["data_dir"])


@click.group()
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Defaults to BACKBEAT_DATA_DIR or data/."
)
@click.pass_context
def outreach(ctx: click.Context, data_dir: Path | None) -> None:
    """Outreach: campaigns emailed through the team's Gmail mailboxes, exactly once and within every limit."""
    ctx.ensure_object(dict)
    settings = Settings.from_env()
    ctx.obj["settings"] = settings
    ctx.obj["data_dir"] = data_dir or settings.data_dir


# -- campaigns ----------------------------------------------------------------------------------------------


@outreach.group()
def campaign() -> None:
    """Create a campaign from a file, pause, resume or stop it, and show its figures."""


@campaign.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--paused", is_flag=True, help="Create it paused: nothing is sent until `campaign resume`.")
@click.pass_context
def campaign_create(ctx: click.Context, file: Path, paused: bool) -> None:
    """Create the campaign FILE describes (YAML or JSON) and enrol its consenting contacts.

    Running it again with the same file only enrols contacts added since; a file that changes an existing
    campaign's mailboxes, steps or track is refused."""
    from backbeat.outreach.campaign_file import CampaignFileError, load_campaign_file
    from backbeat.outreach.campaigns import CampaignError, create_from_spec

    try:
        spec = load_campaign_file(file)
        report = create_from_spec(
            _warehouse(ctx), spec, now=_now(), actor=_actor(), status="paused" if paused else "active"
        )
    except (CampaignFileError, CampaignError) as exc:
        raise click.ClickException(str(exc)) from None
    enrolment = report.enrolment
    skipped = ", ".join(f"{n} {reason}" for reason, n in enrolment.skipped.items()) or "none"
    state = ("created, paused" if paused else "created, active") if report.created else "already exists"
    click.echo(
        f"campaign {report.campaign_id} {state}, promoting {report.track_title} ({report.track_id}); "
        f"templates added: {', '.join(report.templates_added) or 'none'}"
    )
    click.echo(f"prospects: {enrolment.enrolled} enrolled, {enrolment.already} already enrolled; skipped: {skipped}")


def _change(ctx: click.Context, campaign_id: str, status: str) -> None:
    from backbeat.outreach.campaigns import CampaignError, change_campaign_status

    try:
        before = change_campaign_status(_warehouse(ctx), campaign_id, status, now=_now(), actor=_actor())
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"campaign {campaign_id}: {before} → {status}")


@campaign.command("pause")
@click.argument("campaign_id")
@click.pass_context
def campaign_pause(ctx: click.Context, campaign_id: str) -> None:
    """Pause CAMPAIGN_ID: the next send pass sends none of its steps (resume continues where it stopped)."""
    _change(ctx, campaign_id, "paused")


@campaign.command("resume")
@click.argument("campaign_id")
@click.pass_context
def campaign_resume(ctx: click.Context, campaign_id: str) -> None:
    """Resume a paused CAMPAIGN_ID."""
    _change(ctx, campaign_id, "active")


@campaign.command("stop")
@click.argument("campaign_id")
@click.option("--email", help="Stop only this person in the campaign (reason: manual).")
@click.pass_context
def campaign_stop(ctx: click.Context, campaign_id: str, email: str | None) -> None:
    """Stop CAMPAIGN_ID for good (or one person in it with --email)."""
    if email is None:
        _change(ctx, campaign_id, "stopped")
        return
    from backbeat.outreach.campaigns import CampaignError, stop_contact

    try:
        prospect = stop_contact(_warehouse(ctx), campaign_id, email, now=_now(), actor=_actor())
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"campaign {campaign_id}: {email.strip().lower()} stopped (prospect {prospect})")


@campaign.command("status")
@click.argument("campaign_id", required=False)
@click.option("--org", help="Only this organisation's campaigns.")
@click.pass_context
def campaign_status(ctx: click.Context, campaign_id: str | None, org: str | None) -> None:
    """Figures of CAMPAIGN_ID (or of every campaign): prospects waiting, stopped by reason, the funnel per
    step, sent today per mailbox, sends after a stop (always 0) and mailbox health."""
    from backbeat.outreach.figures import campaign_figures, campaign_ids

    warehouse = _warehouse(ctx)
    ids = [campaign_id] if campaign_id else campaign_ids(warehouse, org)
    if not ids:
        click.echo("no campaigns yet: create one with `backbeat outreach campaign create FILE`")
        return
    for cid in ids:
        try:
            figures = campaign_figures(warehouse, cid)
        except KeyError:
            raise click.ClickException(f"no campaign {cid!r}") from None
        for line in figures.lines():
            click.echo(line)


# -- suppressions -------------------------------------------------------------------------------------------


@outreach.command("suppress")
@click.argument("target")
@click.option("--org", required=True, help="Organisation whose mail must never reach TARGET.")
@click.option(
    "--reason",
    type=click.Choice(["manual", "unsubscribe", "bounce", "complaint"]),
    default="manual",
    show_default=True,
)
@click.pass_context
def suppress_command(ctx: click.Context, target: str, org: str, reason: str) -> None:
    """Never email TARGET again: an address (person@example.com) or a whole domain (example.com, @example.com,
    which covers its subdomains). Honoured by the very next send."""
    from backbeat.outreach.suppression import parse_target, suppress

    try:
        parsed = parse_target(target)
        added = suppress(_warehouse(ctx), org, target, reason, source="cli", actor=_actor())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    state = "suppressed" if added else "was already suppressed"
    click.echo(f"{parsed.kind} {parsed.value} {state} for {org} (reason: {reason})")


# -- mailboxes ----------------------------------------------------------------------------------------------


@outreach.group()
def mailbox() -> None:
    """Connect sending mailboxes (tokens encrypted at rest) and show their health."""


@mailbox.command("connect")
@click.argument("address")
@click.option("--org", required=True, help="Organisation the mailbox sends for (created if new).")
@click.option(
    "--refresh-token-env",
    "env_var",
    required=True,
    metavar="VAR",
    help="Name of the environment variable holding the mailbox's OAuth refresh token.",
)
@click.option(
    "--created-on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Day the mailbox was created (under a year old it gets the warm-up cap); default today.",
)
@click.option(
    "--daily-cap", type=click.IntRange(0, 2000), help="Sends per rolling 24 h (default 40 new, 100 after a year)."
)
@click.option("--display-name", help="Name shown in From.")
@click.option("--provider", type=click.Choice(["workspace", "gmail"]), default="workspace", show_default=True)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Refresh the token now and check Gmail reports this address (needs the Gmail client id and secret).",
)
@click.pass_context
def mailbox_connect(
    ctx: click.Context,
    address: str,
    org: str,
    env_var: str,
    created_on: datetime | None,
    daily_cap: int | None,
    display_name: str | None,
    provider: str,
    verify: bool,
) -> None:
    """Encrypt ADDRESS's refresh token (read from $VAR) into the token store and mark the mailbox `ok`
    (this is also how an `auth_required` mailbox is reconnected)."""
    from backbeat.outreach.mailboxes import MailboxError, connect_mailbox, token_name, verify_mailbox
    from integrations.gmail import GmailError
    from integrations.resilience import SecretStoreError

    refresh_token = os.environ.get(env_var, "").strip()
    if not refresh_token:
        raise click.ClickException(f"${env_var} is not set or empty")
    settings = _outreach_settings(ctx).gmail
    warehouse = _warehouse(ctx)
    try:
        store = settings.token_store()
        box = connect_mailbox(
            warehouse,
            store,
            address,
            org,
            refresh_token,
            created_on=created_on.date() if created_on else None,
            daily_cap=daily_cap,
            display_name=display_name,
            provider=provider,
            actor=_actor(),
        )
    except (MailboxError, SecretStoreError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"connected {box.mailbox_id} for {box.org_id}: token encrypted in {store.path(token_name(box.mailbox_id))}"
    )
    if verify:
        try:
            verify_mailbox(warehouse, settings, box.mailbox_id, actor=_actor())
        except GmailError as exc:
            raise click.ClickException(f"the token was stored, but Gmail refused it: {exc}") from None
        except MailboxError as exc:
            raise click.ClickException(f"the token was stored but not verified: {exc} (or pass --no-verify)") from None
        click.echo(f"verified: Gmail answers for {box.mailbox_id}")


@mailbox.command("status")
@click.option("--org", help="Only this organisation's mailboxes.")
@click.pass_context
def mailbox_status(ctx: click.Context, org: str | None) -> None:
    """Every mailbox: ok / degraded / auth_required, sends in the last 24 h against its cap, pause, token."""
    from backbeat.outreach.mailboxes import mailbox_health
    from integrations.resilience import SecretStoreError

    try:
        store = _outreach_settings(ctx).gmail.token_store()
    except (ValueError, SecretStoreError):
        store = None
    rows = mailbox_health(_warehouse(ctx), org_id=org, store=store)
    if not rows:
        click.echo("no mailboxes yet: connect one with `backbeat outreach mailbox connect ADDRESS --org ORG ...`")
    for row in rows:
        click.echo(row.line())


# -- one pass of the send engine / the inbox sync -----------------------------------------------------------


@outreach.command("send")
@click.option("--max", "max_sends", type=click.IntRange(1), help="Send at most this many messages in this pass.")
@click.pass_context
def send_command(ctx: click.Context, max_sends: int | None) -> None:
    """One send pass: every due step that the stop rules and the limits allow now goes out exactly once."""
    from dataclasses import replace

    from backbeat.outreach.runtime import OutreachConfigError, send_pass

    settings = replace(_outreach_settings(ctx), max_sends_per_pass=max_sends)
    try:
        report = send_pass(_warehouse(ctx), settings, actor=_actor())
    except OutreachConfigError as exc:
        raise click.ClickException(str(exc)) from None
    parts = [f"sent {report.sent}", f"recovered {report.recovered}", f"failed {report.failed}"]
    for label, counter in (("skipped", report.skipped), ("deferred", report.deferred), ("released", report.released)):
        if counter:
            parts.append(f"{label}: " + ", ".join(f"{n} {reason}" for reason, n in sorted(counter.items())))
    if report.next_wake is not None:
        parts.append(f"next due {report.next_wake:%Y-%m-%d %H:%M:%S} UTC")
    click.echo("; ".join(parts))


@outreach.command("sync")
@click.option("--mailbox", "mailboxes", multiple=True, help="Only this mailbox (repeatable).")
@click.pass_context
def sync_command(ctx: click.Context, mailboxes: tuple[str, ...]) -> None:
    """One inbox sync of every mailbox: replies, bounces, auto-replies and unsubscribe emails become outcomes
    and suppressions. A mailbox whose grant was revoked is marked auth_required; the others go on."""
    from backbeat.outreach.runtime import OutreachConfigError, sync_pass

    try:
        results = sync_pass(_warehouse(ctx), _outreach_settings(ctx), mailboxes=list(mailboxes) or None)
    except OutreachConfigError as exc:
        raise click.ClickException(str(exc)) from None
    failed = 0
    for item in results:
        if item.result is None:
            failed += 1
            click.echo(f"{item.mailbox_id}: not synced: {item.error}")
            if item.alert:
                click.echo(item.alert, err=True)
            continue
        r = item.result
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(r.outcomes.items())) or "no new outcomes"
        click.echo(
            f"{item.mailbox_id}: {r.messages_seen} messages, {outcomes}, {r.suppressions_added} suppressions"
            + (" (full resync: history had expired)" if r.resynced else "")
        )
    if failed:
        raise SystemExit(1)


# -- unsubscribe service, export, purge ---------------------------------------------------------------------


@outreach.command("unsubscribe-server")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def unsubscribe_server(ctx: click.Context, host: str, port: int) -> None:
    """Serve the one-click unsubscribe endpoint (RFC 8058 POST /u/{token}, GET shows a confirmation page)."""
    from backbeat.outreach.runtime import OutreachConfigError
    from backbeat.outreach.unsubscribe_app import serve

    try:
        key = _outreach_settings(ctx).key()
    except OutreachConfigError as exc:
        raise click.ClickException(str(exc)) from None
    serve(host, port, _settings(ctx).warehouse_url, key)


@outreach.command("export")
@click.argument("org")
@click.option(
    "--to", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Default: exports/outreach/ORG-<time>."
)
@click.pass_context
def export_command(ctx: click.Context, org: str, out_dir: Path | None) -> None:
    """Write every outreach row of ORG (Parquet per table and a manifest) for a hand-over or an access request."""
    from backbeat.outreach.retention import export_organisation

    target = out_dir or ctx.obj["data_dir"] / "exports" / "outreach" / f"{org}-{_now():%Y%m%dT%H%M%S}"
    try:
        manifest = export_organisation(_warehouse(ctx), org, target, actor=_actor())
    except FileExistsError:
        raise click.ClickException(f"{target} already holds an export: choose another --to") from None
    click.echo(f"exported {org}'s outreach data to {Path(manifest).parent} (manifest {Path(manifest).name})")


@outreach.command("purge")
@click.argument("org")
@click.option("--yes", is_flag=True, help="Confirm: this deletes the organisation's outreach data.")
@click.pass_context
def purge_command(ctx: click.Context, org: str, yes: bool) -> None:
    """Delete every outreach row of ORG and its mailboxes' stored tokens; its suppressions stay, as hashes, so
    nobody who opted out is ever emailed again. Export first if the data must be handed over."""
    from backbeat.outreach.retention import purge_organisation
    from integrations.resilience import SecretStoreError

    if not yes:
        raise click.ClickException(f"purging deletes {org}'s outreach data for good: add --yes to confirm")
    warehouse = _warehouse(ctx)
    tokens = _org_token_names(warehouse, org)
    report = purge_organisation(warehouse, org, actor=_actor())
    deleted_tokens = 0
    try:
        store = _outreach_settings(ctx).gmail.token_store()
        for name in tokens:
            if store.path(name).exists():
                store.delete(name)
                deleted_tokens += 1
    except (ValueError, SecretStoreError):
        pass  # no key: the token files cannot be opened anyway; the report says none were deleted
    rows = ", ".join(f"{t} {n}" for t, n in sorted(report.deleted.items()) if n) or "nothing"
    click.echo(
        f"purged {org}: deleted {rows}; kept {report.suppressions_kept} suppressions as hashes; "
        f"deleted {deleted_tokens} mailbox token(s)"
    )


def _org_token_names(warehouse, org: str) -> list[str]:  # noqa: ANN001
    from backbeat.outreach.tables import MAILBOXES

    warehouse.ensure(MAILBOXES)
    rows = warehouse.query(
        "SELECT token_name FROM outreach.mailboxes WHERE org_id = ? AND token_name IS NOT NULL", [org]
    )
    return rows["token_name"].to_list()


# -- prospecting: discover, enrich, score, compose ---------------------------------------------------------


def _prospecting_tables(warehouse) -> None:  # noqa: ANN001
    from backbeat.outreach.prospecting_tables import PROSPECTING_TABLES
    from backbeat.outreach.tables import OUTREACH_TABLES

    warehouse.ensure(*OUTREACH_TABLES, *PROSPECTING_TABLES)


@outreach.command("discover")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--refresh", is_flag=True, help="Search again even if the same search ran within refresh_days.")
@click.pass_context
def discover_command(ctx: click.Context, file: Path, refresh: bool) -> None:
    """Run the discovery FILE describes (org, keywords/location/language/depth, csv, stations; see
    backbeat/outreach/discovery_file.py) into outreach.candidates. Searches need DATAFORSEO_LOGIN and
    DATAFORSEO_PASSWORD (DATAFORSEO_URL for a stand-in); without them they are skipped and said so. A search
    already paid for within the file's refresh_days (default 30) is not asked again unless --refresh."""
    from assets.outreach.prospecting_resources import OptionalSerpResource
    from backbeat.outreach.discovery import SerpSearchSource
    from backbeat.outreach.discovery_file import DiscoveryFileError, load_discovery_file, run_discovery_spec

    try:
        spec = load_discovery_file(file)
    except DiscoveryFileError as exc:
        raise click.ClickException(str(exc)) from None
    serp = OptionalSerpResource.from_env(as_env_vars=False)
    warehouse = _warehouse(ctx)
    _prospecting_tables(warehouse)
    search = SerpSearchSource(serp.client()) if serp.configured and spec.keywords else None
    outcome = run_discovery_spec(
        warehouse,
        spec,
        search=search,
        not_configured=f"SERP not configured (set {', '.join(serp.missing())})",
        refresh=refresh,
    )
    for r in outcome.results:
        click.echo(
            f"{r.source}: {r.status}; {r.requests} requests, ${r.cost_usd}; {r.results} results, "
            f"{r.new_candidates} new candidates, {r.rejected_rows} rejected"
        )
    for line in outcome.skipped:
        click.echo(line)
    if outcome.failed:
        raise click.ClickException("; ".join(outcome.failed))


@outreach.command("enrich")
@click.argument("org")
@click.option("--budget", type=click.FloatRange(0), required=True, help="The organisation's monthly credits.")
@click.option("--max-domains", type=click.IntRange(1), help="Enrich at most this many domains in this run.")
@click.pass_context
def enrich_command(ctx: click.Context, org: str, budget: float, max_domains: int | None) -> None:
    """Find and verify addresses for ORG's candidate domains not yet enriched, within --budget credits this
    month (never exceeded; cached answers cost nothing), then screen every address (hygiene). Needs
    BACKBEAT_EMAILFINDER_API_KEY (BACKBEAT_EMAILFINDER_URL for a stand-in)."""
    from assets.outreach.prospecting_resources import OptionalEmailFinderResource
    from backbeat.outreach.enrichment import (
        EnrichmentSettings,
        credits_available,
        enrich_candidates,
        targets_from_candidates,
    )
    from backbeat.outreach.hygiene import RULES, SuppressionIndex, candidate_email_rows, record_hygiene, screen

    finder = OptionalEmailFinderResource.from_env(as_env_vars=False)
    if not finder.configured:
        raise click.ClickException(f"the email finder is not configured: set {', '.join(finder.missing())}")
    warehouse = _warehouse(ctx)
    _prospecting_tables(warehouse)
    settings = EnrichmentSettings(monthly_credits=budget)
    now = _now()
    targets = targets_from_candidates(warehouse, org, limit=max_domains)
    report = enrich_candidates(warehouse, finder.client(), org, targets, settings=settings, now=now)
    left = credits_available(warehouse, org, settings, now=now)
    click.echo(f"{org}: {report.summary(left, budget)}")
    result = screen(candidate_email_rows(warehouse, org), suppressions=SuppressionIndex.load(warehouse, org))
    counts = record_hygiene(warehouse, org, result, asset="outreach/candidate_emails", partition_key=org)
    refused = ", ".join(f"{counts[rule]} {rule}" for rule in RULES if counts[rule]) or "none"
    click.echo(f"hygiene: {counts['accepted']} of {counts['checked']} addresses accepted; refused: {refused}")


@outreach.command("score")
@click.argument("campaign_id")
@click.option("--mood", "moods", multiple=True, help="A mood the track is promoted with (repeatable).")
@click.option("--top", type=click.IntRange(1), default=10, show_default=True, help="Show this many.")
@click.pass_context
def score_command(ctx: click.Context, campaign_id: str, moods: tuple[str, ...], top: int) -> None:
    """Rank CAMPAIGN_ID's prospects (its organisation's candidate addresses that pass hygiene) with an
    explainable score, store the ranking and show the top with each feature's contribution."""
    from backbeat.outreach.hygiene import accepted_candidate_emails
    from backbeat.outreach.scoring import load_prospect_signals, score_campaign, store_scores

    warehouse = _warehouse(ctx)
    _prospecting_tables(warehouse)
    found = warehouse.query("SELECT org_id FROM outreach.campaigns WHERE campaign_id = ?", [campaign_id])
    if not found.height:
        raise click.ClickException(f"no campaign {campaign_id!r}")
    org = found["org_id"][0]
    signals = load_prospect_signals(warehouse, org, accepted=accepted_candidate_emails(warehouse, org))
    try:
        ranked = score_campaign(warehouse, org, campaign_id, signals, moods=moods)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    store_scores(warehouse, org, campaign_id, ranked)
    click.echo(f"campaign {campaign_id}: {len(ranked)} prospects ranked")
    for s in ranked[:top]:
        click.echo(f"#{s.rank} {s.email} {s.score:.1f}")
        for line in s.explanation():
            click.echo(f"    {line}")


@outreach.command("preview")
@click.argument("template_id")
@click.argument("version", type=click.IntRange(1))
@click.option(
    "--context",
    "context_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="JSON object of the variables to render with (name, first_name, company, track, ...).",
)
@click.pass_context
def preview_command(ctx: click.Context, template_id: str, version: int, context_file: Path) -> None:
    """Render TEMPLATE_ID VERSION with the variables of --context and list every failed check; a missing
    variable is an error, never a blank. Exits 1 when a check fails."""
    import json

    from backbeat.outreach.compose import ComposeError, WarehouseTemplates, preview

    try:
        values = json.loads(context_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise click.ClickException(f"{context_file}: not JSON ({exc})") from None
    if not isinstance(values, dict):
        raise click.ClickException(f"{context_file}: must hold a JSON object of variables")
    warehouse = _warehouse(ctx)
    _prospecting_tables(warehouse)
    try:
        rendered = preview(template_id, version, values, source=WarehouseTemplates(warehouse))
    except (ComposeError, KeyError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    click.echo(rendered.text(), nl=False)
    if not rendered.ok:
        raise SystemExit(1)


@outreach.command("compose")
@click.option(
    "--generate",
    "generate",
    multiple=True,
    metavar="CAMPAIGN:STEP",
    help="Also write a generated draft per prospect of this step (needs BACKBEAT_TEXTGEN_ENABLED=1); repeatable.",
)
@click.pass_context
def compose_command(ctx: click.Context, generate: tuple[str, ...]) -> None:
    """Compose and check every step still to send for every prospect of every open campaign (as the send will,
    with a stand-in unsubscribe link): ready, refused by reason with examples, drafts waiting for approval.
    Exits 1 when a message would be refused."""
    from backbeat.outreach.composition import compose_pending, parse_step
    from backbeat.outreach.generation import GenerationDisabled, GenerationSettings

    try:
        steps = {parse_step(item) for item in generate}
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--generate") from None
    warehouse = _warehouse(ctx)
    _prospecting_tables(warehouse)
    try:
        composed = compose_pending(warehouse, generation=GenerationSettings.from_env(), generate=steps)
    except GenerationDisabled as exc:
        raise click.ClickException(str(exc)) from None
    for step in composed:
        click.echo(step.line())
        for example in step.examples:
            click.echo(f"  {example}")
    if not composed:
        click.echo("nothing to send")
    if any(step.problems for step in composed):
        raise SystemExit(1)


@outreach.command("drafts")
@click.option("--org", help="Only this organisation's drafts.")
@click.option("--campaign", "campaign_id", help="Only this campaign's drafts.")
@click.option(
    "--status",
    type=click.Choice(["pending_approval", "approved", "rejected", "failed_checks", "sent"]),
    help="Only these.",
)
@click.pass_context
def drafts_command(ctx: click.Context, org: str | None, campaign_id: str | None, status: str | None) -> None:
    """Drafts (rendered or generated), newest first: id, campaign, step, recipient, status, model, approver."""
    from backbeat.outreach.generation import list_drafts
    from backbeat.outreach.prospecting_tables import DRAFTS

    warehouse = _warehouse(ctx)
    warehouse.ensure(DRAFTS)
    orgs = [org] if org else warehouse.query("SELECT DISTINCT org_id FROM outreach.drafts ORDER BY 1")["org_id"]
    shown = 0
    for org_id in orgs:
        for d in list_drafts(warehouse, org_id, campaign_id=campaign_id, status=status).iter_rows(named=True):
            shown += 1
            click.echo(
                f"{d['draft_id']}  {org_id}/{d['campaign_id']} step {d['step_no']}  {d['email']}  {d['status']}  "
                f"{d['model'] or 'template'}  {d['subject']!r}" + (f"  by {d['approver']}" if d["approver"] else "")
            )
    if not shown:
        click.echo("no drafts")


def _decide_draft(ctx: click.Context, draft_id: str, by: str, approve: bool) -> None:
    from backbeat.outreach.generation import DraftError, approve_draft, reject_draft

    try:
        draft = (approve_draft if approve else reject_draft)(_warehouse(ctx), draft_id, by)
    except DraftError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"draft {draft.draft_id}: {draft.status} by {draft.approver}")


@outreach.command("approve")
@click.argument("draft_id")
@click.option("--by", required=True, help="Who approves it (recorded).")
@click.pass_context
def approve_command(ctx: click.Context, draft_id: str, by: str) -> None:
    """Approve DRAFT_ID for sending; its checks run again first (a failing draft cannot be approved)."""
    _decide_draft(ctx, draft_id, by, approve=True)


@outreach.command("reject")
@click.argument("draft_id")
@click.option("--by", required=True, help="Who rejects it (recorded).")
@click.pass_context
def reject_command(ctx: click.Context, draft_id: str, by: str) -> None:
    """Reject DRAFT_ID: it is never sent, and its step uses the template."""
    _decide_draft(ctx, draft_id, by, approve=False)


@outreach.group()
def consent() -> None:
    """Record a person's decision that the organisation may write to contacts it did not get consent from."""


@consent.command("grant")
@click.argument("org")
@click.argument("emails", nargs=-1, required=True)
@click.option("--by", required=True, help="Who decides (recorded in outreach.activity).")
@click.option("--basis", required=True, help="Why it is legitimate, e.g. 'legitimate interest: station programmer'.")
@click.pass_context
def consent_grant(ctx: click.Context, org: str, emails: tuple[str, ...], by: str, basis: str) -> None:
    """Let ORG write to the vendor contacts EMAILS (found by enrichment, which never grants consent itself)."""
    from backbeat.outreach.enrichment import grant_vendor_consent

    warehouse = _warehouse(ctx)
    _prospecting_tables(warehouse)
    try:
        changed = grant_vendor_consent(warehouse, org, emails, actor=by, basis=basis, now=_now())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"consent granted for {changed} of {len(set(emails))} address(es) of {org} (by {by}: {basis})")
