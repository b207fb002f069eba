"""`backbeat royalties dispute|payout|period|statement`: the royalties inbox, period close and party statements.

`period close|reopen|status` close a month (its statements become final and never change), reopen it (audited,
with a reason) and list the months; `statement` writes a party's statement for a month as PDF and/or CSV, with
names, marked PROVISIONAL while the month is open. These read and write the warehouse
(`BACKBEAT_WAREHOUSE_URL`, else `warehouse.duckdb` in the data directory).

Every command appends one validated row to a CSV under `$BACKBEAT_DATA_DIR/inbox/royalties/` and never
changes a row already there: a dispute's steps, comments and attachments (their sha256; the files themselves
go to the content-addressed `evidence/` folder) go to `disputes/{dispute_id}.csv`, payout requests and their
decisions to `payout_requests.csv`. The file is rewritten through a hidden temporary file and renamed into
place, under a lock, so a reader (the inbox sensor, the assets) sees the old file or the new one, never half.
The `royalties/disputes` and `royalties/payouts` assets read these files; the rules that need the warehouse
(the play exists, the party is owed enough) are applied there.

This is a module-level click group; `backbeat.cli` attaches it to the `backbeat` group.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from backbeat.commands.inbox import locked
from backbeat.common import csvfiles as f
from backbeat.royalties.disputes import (
    EVENT_COLUMNS,
    EVENT_FIELDS,
    LEGACY_COLUMNS,
    PERMITTED_ROLES,
    RESOLUTIONS,
    ROLES,
    STEPS,
    DisputeEvent,
    DisputeHistory,
    DisputeState,
    RoleError,
    StepError,
    apply_step,
    dispute_files,
    evidence_problems,
    read_disputes,
    read_events,
    replay,
    timestamp,
)
from backbeat.royalties.evidence import EvidenceError, EvidenceStore, describe
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.payouts import REQUEST_COLUMNS, REQUEST_FIELDS, exact_minor_units, merge_request_rows
from backbeat.royalties.periods import (
    PeriodError,
    check_period,
    close_period,
    period_events,
    period_overview,
    reopen_period,
    statement_documents,
)
from backbeat.royalties.statement_pdf import render_pdf
from backbeat.royalties.statement_people import format_amount, to_csv
from backbeat.settings import Settings
from integrations.warehouse import Warehouse


def _royalties_inbox(ctx: click.Context) -> Path:
    return ctx.obj["inbox"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def append_rows(path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    """Append `rows` to the CSV at `path` (created with a header of `columns`), atomically.

    Existing bytes are kept as they are; the new file is written beside it (hidden, `.part`) and renamed over it.
    """
    existing = path.read_bytes() if path.exists() else b""
    header = list(columns)
    if existing.strip():
        first = next(csv.reader(io.StringIO(existing.decode("utf-8"))), [])
        if set(first) != set(columns):
            raise click.ClickException(f"{path} has the header {first}, expected the columns {list(columns)}")
        header = first
        if not existing.endswith(b"\n"):
            existing += b"\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    if not existing.strip():
        existing = b""
        writer.writeheader()
    writer.writerows({name: row.get(name, "") for name in header} for row in rows)
    temporary = path.with_name(f".{path.name}.part")
    with open(temporary, "wb") as handle:
        handle.write(existing + buffer.getvalue().encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


@click.group()
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Defaults to BACKBEAT_DATA_DIR or data/."
)
@click.pass_context
def royalties(ctx: click.Context, data_dir: Path | None) -> None:
    """Disputes of plays and payout requests (appended to the royalties inbox)."""
    ctx.ensure_object(dict)
    settings = Settings.from_env()
    ctx.obj["inbox"] = (data_dir or settings.data_dir) / "inbox" / "royalties"
    ctx.obj["warehouse_url"] = (
        settings.warehouse_url
        if settings.warehouse_url_from_env or data_dir is None
        else f"duckdb:///{data_dir.resolve() / 'warehouse.duckdb'}"
    )


def _warehouse(ctx: click.Context) -> Warehouse:
    return Warehouse(ctx.obj["warehouse_url"])


# ---- disputes --------------------------------------------------------------------------------------------


@royalties.group()
def dispute() -> None:
    """Open a dispute of a play, discuss it, attach evidence and take it through its steps:
    pending → verified → resolving → review → resolved.

    `--as ROLE` names the role the actor acts in: a station or artist may open, comment and attach; an analyst
    or rights_admin may also move a dispute on; only a rights_admin may resolve. Evidence is stored once per
    content under `evidence/` in the data directory, and its sha256 is recorded in the dispute's file.
    """


def _parse_at(value: str | None) -> datetime:
    if value is None:
        return _now()
    try:
        return timestamp(value)
    except f.FieldError as exc:
        raise click.BadParameter(f"{value!r} {exc}", param_hint="--at") from None


def _event_row(event: DisputeEvent) -> dict[str, str]:
    return event.row()


def _check_fields(row: dict[str, str], fields: dict[str, f.Parser]) -> None:
    for name, parser in fields.items():
        try:
            parser(row.get(name, ""))
        except f.FieldError as exc:
            raise click.BadParameter(f"{name} {exc}: {row.get(name, '')!r}") from None


def _role_option(required: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--as",
        "role",
        type=click.Choice(ROLES),
        required=required,
        help="Role the actor acts in: " + "; ".join(f"{a}: {', '.join(r)}" for a, r in PERMITTED_ROLES.items()),
    )


def _evidence_store(ctx: click.Context) -> EvidenceStore:
    return EvidenceStore(_royalties_inbox(ctx).parent.parent / "evidence")


def _take(state: DisputeState | None, event: DisputeEvent) -> DisputeState:
    """The core's verdict on `event` (roles, step order, evidence), as a command-line error if refused."""
    _check_fields(_event_row(event), EVENT_FIELDS)
    try:
        return apply_step(state, event)
    except RoleError as exc:
        raise click.ClickException(f"refused: {exc.reason}") from None
    except StepError as exc:
        raise click.ClickException(f"{exc.field}: {exc.reason}") from None


def _append_events(path: Path, events: Sequence[DisputeEvent]) -> None:
    """Append `events` to the dispute file `path`; a file written before threads and roles gets the new
    columns first (its rows keep their values, the new fields empty)."""
    if path.exists():
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header, rows = list(reader.fieldnames or []), list(reader)
        if header and set(header) == set(LEGACY_COLUMNS):
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=EVENT_COLUMNS, lineterminator="\n", restval="")
            writer.writeheader()
            writer.writerows(rows)
            temporary = path.with_name(f".{path.name}.part")
            temporary.write_text(buffer.getvalue(), encoding="utf-8")
            os.replace(temporary, path)
    append_rows(path, EVENT_COLUMNS, [_event_row(e) for e in events])


def _dispute_history(folder: Path, dispute_id: str) -> tuple[DisputeHistory, DisputeState]:
    history = replay(DisputeEvent.from_row(r) for r in read_events(folder).rows if r["dispute_id"] == dispute_id)
    state = history.states.get(dispute_id)
    if state is None:
        raise click.BadParameter(f"no dispute {dispute_id} in {folder}", param_hint="DISPUTE_ID")
    return history, state


def _attach(
    ctx: click.Context, state: DisputeState, files: Sequence[Path], template: DisputeEvent
) -> tuple[DisputeState, list[DisputeEvent], list[str]]:
    """Check and store `files` as attach entries after `state`; returns the state, the entries and what was done.

    Every entry is checked by the core before any file is stored, so a refused attachment stores nothing."""
    described = []
    for path in files:
        try:
            described.append((path, describe(path)))
        except EvidenceError as exc:
            raise click.ClickException(str(exc)) from None
    events = []
    for _, evidence in described:
        event = replace(template, action="attach", status=state.status, resolution=None, evidence=evidence)
        state = _take(state, event)
        events.append(event)
    store, done = _evidence_store(ctx), []
    for path, evidence in described:
        try:
            stored, new = store.put(path)
        except EvidenceError as exc:
            raise click.ClickException(str(exc)) from None
        if stored.sha256 != evidence.sha256:
            raise click.ClickException(f"{path} changed while it was being attached; try again")
        done.append(f"attached {evidence.name} sha256 {evidence.sha256} ({'stored' if new else 'already stored'})")
    return state, events, done


@dispute.command("open")
@click.argument("play_id")
@click.option("--actor", required=True, help="Who disputes the play (station, artist, analyst).")
@_role_option(required=True)
@click.option("--note", default="", help="Why the play is disputed.")
@click.option("--at", "at_text", help="When (ISO 8601, UTC if no offset); default: now.")
@click.option("--dispute-id", help="Dispute id; default: generated.")
@click.option(
    "--attach",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Evidence to attach (repeatable; needs --as).",
)
@click.pass_context
def dispute_open(
    ctx: click.Context,
    play_id: str,
    actor: str,
    role: str | None,
    note: str,
    at_text: str | None,
    dispute_id: str | None,
    files: tuple[Path, ...],
) -> None:
    """Open a dispute of PLAY_ID (step pending); prints the dispute id, then any attachments stored."""
    folder = _royalties_inbox(ctx) / "disputes"
    at = _parse_at(at_text)
    with locked(folder):
        taken = {r["dispute_id"] for r in read_events(folder).rows} | {p.stem for p in dispute_files(folder)}
        if dispute_id is None:
            dispute_id = f"D{at:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
            while dispute_id in taken:
                dispute_id = f"D{at:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
        elif dispute_id in taken:
            raise click.BadParameter(f"dispute {dispute_id} already exists", param_hint="--dispute-id")
        event = DisputeEvent(
            dispute_id, play_id.strip(), "pending", None, actor.strip(), at, note.strip() or None, role=role
        )
        state = _take(None, event)
        _, attached, done = _attach(ctx, state, files, replace(event, note=None))
        _append_events(folder / f"{dispute_id}.csv", [event, *attached])
    click.echo(dispute_id)
    for line in done:
        click.echo(line)


@dispute.command("step")
@click.argument("dispute_id")
@click.argument("status", type=click.Choice(STEPS[1:]))
@click.option("--actor", required=True, help="Who takes the step.")
@_role_option(required=True)
@click.option("--resolution", type=click.Choice(RESOLUTIONS), help="Required with resolved: upheld or rejected.")
@click.option("--note", default="", help="Why.")
@click.option("--at", "at_text", help="When (ISO 8601, UTC if no offset); default: now.")
@click.pass_context
def dispute_step(
    ctx: click.Context,
    dispute_id: str,
    status: str,
    actor: str,
    role: str | None,
    resolution: str | None,
    note: str,
    at_text: str | None,
) -> None:
    """Take DISPUTE_ID to its next STATUS (steps cannot be skipped; resolved needs --resolution)."""
    folder = _royalties_inbox(ctx) / "disputes"
    at = _parse_at(at_text)
    with locked(folder):
        history, state = _dispute_history(folder, dispute_id)
        event = DisputeEvent(
            dispute_id, state.play_id, status, resolution, actor.strip(), at, note.strip() or None, role=role
        )
        _take(state, event)
        _append_events(Path(history.events[0].source_file), [event])
    click.echo(f"{dispute_id}: {state.status} → {status}" + (f" ({resolution})" if resolution else ""))


@dispute.command("resolve")
@click.argument("dispute_id")
@click.argument("resolution", type=click.Choice(RESOLUTIONS))
@click.option("--actor", required=True, help="Who resolves.")
@_role_option(required=True)
@click.option("--note", default="", help="Why.")
@click.option("--at", "at_text", help="When (ISO 8601, UTC if no offset); default: now.")
@click.pass_context
def dispute_resolve(
    ctx: click.Context, dispute_id: str, resolution: str, actor: str, role: str, note: str, at_text: str | None
) -> None:
    """Resolve DISPUTE_ID (at review) as upheld (the play is not paid) or rejected (paid as posted);
    only a rights_admin may."""
    ctx.invoke(
        dispute_step,
        dispute_id=dispute_id,
        status="resolved",
        actor=actor,
        role=role,
        resolution=resolution,
        note=note,
        at_text=at_text,
    )


@dispute.command("comment")
@click.argument("dispute_id")
@click.argument("text")
@click.option("--actor", required=True, help="Who writes.")
@_role_option(required=True)
@click.option("--at", "at_text", help="When (ISO 8601, UTC if no offset); default: now.")
@click.pass_context
def dispute_comment(ctx: click.Context, dispute_id: str, text: str, actor: str, role: str, at_text: str | None) -> None:
    """Add TEXT to DISPUTE_ID's comment thread."""
    folder = _royalties_inbox(ctx) / "disputes"
    at = _parse_at(at_text)
    with locked(folder):
        history, state = _dispute_history(folder, dispute_id)
        event = DisputeEvent(
            dispute_id, state.play_id, state.status, None, actor.strip(), at, text.strip(), action="comment", role=role
        )
        state = _take(state, event)
        _append_events(Path(history.events[0].source_file), [event])
    click.echo(f"{dispute_id}: comment {state.comments} by {actor.strip()} ({role})")


@dispute.command("attach")
@click.argument("dispute_id")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", required=True, help="Who attaches.")
@_role_option(required=True)
@click.option("--note", default="", help="What the evidence shows.")
@click.option("--at", "at_text", help="When (ISO 8601, UTC if no offset); default: now.")
@click.pass_context
def dispute_attach(
    ctx: click.Context, dispute_id: str, files: tuple[Path, ...], actor: str, role: str, note: str, at_text: str | None
) -> None:
    """Attach FILES (PDF, PNG, JPEG, WAV, MP3 or text, each at most 20 MB) to DISPUTE_ID as evidence."""
    folder = _royalties_inbox(ctx) / "disputes"
    at = _parse_at(at_text)
    with locked(folder):
        history, state = _dispute_history(folder, dispute_id)
        template = DisputeEvent(
            dispute_id, state.play_id, state.status, None, actor.strip(), at, note.strip() or None, role=role
        )
        _, attached, done = _attach(ctx, state, files, template)
        _append_events(Path(history.events[0].source_file), attached)
    for line in done:
        click.echo(f"{dispute_id}: {line}")


def _who(event: DisputeEvent) -> str:
    return f"{event.actor} ({event.role or 'no role recorded'})"


@dispute.command("show")
@click.argument("dispute_id")
@click.pass_context
def dispute_show(ctx: click.Context, dispute_id: str) -> None:
    """DISPUTE_ID's state and audit trail (steps, comments, evidence), each attachment re-hashed against the
    sha256 recorded for it; fails if a stored file is missing or was tampered with."""
    folder = _royalties_inbox(ctx) / "disputes"
    history, state = _dispute_history(folder, dispute_id)
    store = _evidence_store(ctx)
    outcome = f", {state.resolution}" if state.resolution else ""
    click.echo(
        f"{dispute_id}  play {state.play_id}  {state.status}{outcome}  opened by {state.opened_by} at {state.opened_at}"
    )
    problems = []
    for number, e in enumerate(history.events, start=1):
        line = f"  #{number} {e.at:%Y-%m-%d %H:%M:%S}  {_who(e)}  "
        if e.action == "step":
            line += (
                f"step {e.status}" + (f" ({e.resolution})" if e.resolution else "") + (f": {e.note}" if e.note else "")
            )
        elif e.action == "comment":
            line += f"comment: {e.note}"
        elif e.evidence is not None:
            problem = store.verify(e.evidence.sha256)
            line += (
                f"attach {e.evidence.name} {e.evidence.media_type} {e.evidence.size:,} bytes "
                f"sha256 {e.evidence.sha256} [{'TAMPERED OR MISSING' if problem else 'verified'}]"
            ) + (f": {e.note}" if e.note else "")
            if problem:
                problems.append(f"{e.evidence.name} (sha256 {e.evidence.sha256}) {problem}")
        click.echo(line)
    if problems:
        raise click.ClickException("evidence does not match the audit trail:\n" + "\n".join(problems))


@dispute.command("verify")
@click.argument("dispute_ids", nargs=-1)
@click.pass_context
def dispute_verify(ctx: click.Context, dispute_ids: tuple[str, ...]) -> None:
    """Re-hash the stored evidence of DISPUTE_IDS (default: every dispute) against the sha256 in their audit
    trails; fails naming each file missing or tampered with."""
    history = read_disputes(_royalties_inbox(ctx) / "disputes")
    store = _evidence_store(ctx)
    wanted = dispute_ids or tuple(sorted(history.states))
    unknown = [d for d in wanted if d not in history.states]
    if unknown:
        raise click.BadParameter(f"no dispute {', '.join(unknown)}", param_hint="DISPUTE_IDS")
    problems = [p for d in wanted for p in evidence_problems(history, store, d)]
    files = sum(1 for e in history.events if e.evidence is not None and e.dispute_id in wanted)
    if problems:
        raise click.ClickException("\n".join(problems))
    click.echo(f"{files} attachment(s) of {len(wanted)} dispute(s) match their recorded sha256")


# ---- payouts ---------------------------------------------------------------------------------------------


@royalties.group()
def payout() -> None:
    """Request payouts for a party, approve or reject them, and record when they were paid."""


def _requests_file(ctx: click.Context) -> Path:
    return _royalties_inbox(ctx) / "payout_requests.csv"


def _append_request_row(path: Path, row: dict[str, str]) -> None:
    """Validate `row` as the file's next row (fields, then against the request it adds to) and append it."""
    _check_fields(row, REQUEST_FIELDS)
    parsed = f.read_csv(path, REQUEST_FIELDS) if path.exists() else f.ParsedFile()
    if parsed.rejects and any(r.row_number in (None, 1) for r in parsed.rejects):
        raise click.ClickException(f"{path} cannot be read: {parsed.rejects[0]}")
    next_row = 2  # the line the new row will have (header = 1), as read_csv numbers rows
    if path.exists():
        with open(path, newline="", encoding="utf-8") as handle:
            next_row = sum(1 for _ in csv.DictReader(handle)) + 2
    candidate = {
        **{n: p(row.get(n, "")) for n, p in REQUEST_FIELDS.items()},
        "_source_file": str(path),
        "_row": next_row,
    }
    _, rejects = merge_request_rows([*parsed.rows, candidate])
    mine = [r for r in rejects if r.row_number == next_row]
    if mine:
        raise click.ClickException(f"{mine[0].field}: {mine[0].reason}")
    append_rows(path, REQUEST_COLUMNS, [row])


@payout.command("request")
@click.argument("party")
@click.option("--amount", required=True, help="Amount in major units, e.g. 120.50.")
@click.option("--currency", required=True, type=click.Choice(sorted(MINOR_UNIT_EXPONENT)), help="ISO 4217 code.")
@click.option("--requested-on", type=click.DateTime(["%Y-%m-%d"]), help="Day of the request; default: today (UTC).")
@click.option("--note", default="")
@click.option("--payout-id", help="Payout id; default: generated.")
@click.pass_context
def payout_request(
    ctx: click.Context,
    party: str,
    amount: str,
    currency: str,
    requested_on: datetime | None,
    note: str,
    payout_id: str | None,
) -> None:
    """Request a payout of --amount --currency to PARTY; prints the payout id."""
    try:
        amount_minor = exact_minor_units(Decimal(amount), currency)
    except (InvalidOperation, ValueError) as exc:
        raise click.BadParameter(
            f"{amount!r}: {exc if isinstance(exc, ValueError) else 'not a decimal number'}", param_hint="--amount"
        ) from None
    if amount_minor <= 0:
        raise click.BadParameter("must be positive", param_hint="--amount")
    day: date = requested_on.date() if requested_on else _now().date()
    path = _requests_file(ctx)
    with locked(path.parent):
        taken = set()
        if path.exists():
            taken = {r["payout_id"] for r in f.read_csv(path, REQUEST_FIELDS).rows}
        if payout_id is None:
            payout_id = f"PO{day:%Y%m%d}-{secrets.token_hex(3)}"
            while payout_id in taken:
                payout_id = f"PO{day:%Y%m%d}-{secrets.token_hex(3)}"
        elif payout_id in taken:
            raise click.BadParameter(f"payout {payout_id} already exists", param_hint="--payout-id")
        _append_request_row(
            path,
            {
                "payout_id": payout_id,
                "party_id": party,
                "currency": currency,
                "amount": amount,
                "requested_on": day.isoformat(),
                "note": note,
            },
        )
    click.echo(payout_id)


def _request_row(path: Path, payout_id: str) -> dict:
    rows = [r for r in f.read_csv(path, REQUEST_FIELDS).rows if r["payout_id"] == payout_id] if path.exists() else []
    if not rows:
        raise click.BadParameter(f"no payout request {payout_id} in {path}", param_hint="PAYOUT_ID")
    first = rows[0]
    return {
        "payout_id": payout_id,
        "party_id": first["party_id"],
        "currency": first["currency"],
        "amount": str(first["amount"]),
        "requested_on": first["requested_on"].isoformat(),
    }


@payout.command("decide")
@click.argument("payout_id")
@click.argument("decision", type=click.Choice(["approve", "reject"]))
@click.option("--by", "decided_by", required=True, help="Who decides.")
@click.option("--note", default="", help="Why.")
@click.pass_context
def payout_decide(ctx: click.Context, payout_id: str, decision: str, decided_by: str, note: str) -> None:
    """Approve or reject PAYOUT_ID (a decision cannot be changed once recorded)."""
    path = _requests_file(ctx)
    with locked(path.parent):
        row = _request_row(path, payout_id)
        _append_request_row(path, {**row, "decision": decision, "decided_by": decided_by, "note": note})
    click.echo(f"{payout_id}: {decision} by {decided_by}")


@payout.command("paid")
@click.argument("payout_id")
@click.option("--on", "paid_on", type=click.DateTime(["%Y-%m-%d"]), help="Day it was paid; default: today (UTC).")
@click.option("--note", default="", help="E.g. the bank transfer reference.")
@click.pass_context
def payout_paid(ctx: click.Context, payout_id: str, paid_on: datetime | None, note: str) -> None:
    """Record that the approved PAYOUT_ID was paid; the payouts asset then posts it to the ledger."""
    path = _requests_file(ctx)
    day = paid_on.date() if paid_on else _now().date()
    with locked(path.parent):
        row = _request_row(path, payout_id)
        _append_request_row(path, {**row, "paid_on": day.isoformat(), "note": note})
    click.echo(f"{payout_id}: paid on {day}")


# ---- periods and statements ------------------------------------------------------------------------------


def _period_argument(value: str) -> str:
    try:
        return check_period(value)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="PERIOD") from None


@royalties.group()
def period() -> None:
    """Close a month (statements final), reopen it (audited) and list the months."""


@period.command("close")
@click.argument("month")
@click.option("--by", "actor", required=True, help="Who closes the month.")
@click.option("--at", "at_text", help="When (ISO 8601, UTC if no offset); default: now.")
@click.pass_context
def period_close(ctx: click.Context, month: str, actor: str, at_text: str | None) -> None:
    """Close MONTH (YYYY-MM): post the month's contract effects (advances recouped, reserves), then freeze every
    party's statement; later corrections land in the open month."""
    from backbeat.royalties.recoupment import apply_contract_terms

    warehouse, period_key = _warehouse(ctx), _period_argument(month)
    try:
        posted = apply_contract_terms(warehouse, period_key)
        result = close_period(warehouse, period_key, actor, _parse_at(at_text))
    except PeriodError as exc:
        raise click.ClickException(str(exc)) from None
    state = result.state
    click.echo(
        f"{state.period} closed by {state.closed_by} at {state.closed_at:%Y-%m-%d %H:%M} UTC (version "
        f"{state.version}): {len(result.documents)} statements frozen, sha256 {state.statements_sha256}"
        + (f"; {len(posted.batches_posted)} contract batches posted first" if posted.batches_posted else "")
    )


@period.command("reopen")
@click.argument("month")
@click.option("--by", "actor", required=True, help="Who reopens the month.")
@click.option("--reason", required=True, help="Why the month must change (kept in the audit trail).")
@click.option("--at", "at_text", help="When (ISO 8601, UTC if no offset); default: now.")
@click.pass_context
def period_reopen(ctx: click.Context, month: str, actor: str, reason: str, at_text: str | None) -> None:
    """Reopen the closed MONTH: its statements turn provisional until it is closed again."""
    try:
        state = reopen_period(_warehouse(ctx), _period_argument(month), actor, reason, _parse_at(at_text))
    except PeriodError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{state.period} reopened by {state.reopened_by} at {state.reopened_at:%Y-%m-%d %H:%M} UTC: {reason}")


@period.command("status")
@click.option("--events", is_flag=True, help="Also print the audit trail of closes and reopenings.")
@click.pass_context
def period_status(ctx: click.Context, events: bool) -> None:
    """Each month with ledger lines or ever closed: closed (final) or open (provisional), who and when."""
    db = _warehouse(ctx)
    for state in period_overview(db):
        line = f"{state.period}  {'closed' if state.closed else 'open  '}  "
        if state.closed:
            line += f"final, closed by {state.closed_by} at {state.closed_at:%Y-%m-%d %H:%M} UTC (v{state.version})"
        else:
            line += "provisional"
            if state.reopened_by:
                line += f", reopened by {state.reopened_by} at {state.reopened_at:%Y-%m-%d %H:%M} UTC: "
                line += f"{state.reopen_reason}"
        click.echo(line)
    if events:
        for row in period_events(db).iter_rows(named=True):
            click.echo(
                f"  {row['period']} #{row['seq']} {row['action']} by {row['actor']} at "
                f"{row['acted_at']:%Y-%m-%d %H:%M} UTC" + (f": {row['reason']}" if row["reason"] else "")
            )


@royalties.command("statement")
@click.option("--party", "party_id", required=True, help="Party id.")
@click.option("--period", "month", required=True, help="Month, YYYY-MM.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the PDF here.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV here.")
@click.pass_context
def statement(ctx: click.Context, party_id: str, month: str, pdf_path: Path | None, csv_path: Path | None) -> None:
    """A party's statement for a month (final once the month is closed, else PROVISIONAL), as PDF and/or CSV."""
    documents = statement_documents(_warehouse(ctx), _period_argument(month), party_id)
    if not documents:
        raise click.ClickException(f"no statement for party {party_id} in {month}")
    if pdf_path is not None:
        render_pdf(documents, pdf_path)
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        csv_path.write_text(to_csv(documents), encoding="utf-8")
    for d in documents:
        click.echo(
            f"{d.period} {d.party_name} ({d.party_id}) {d.currency} {d.status}: opening "
            f"{format_amount(d.opening_minor, d.currency)}, closing {format_amount(d.closing_minor, d.currency)}"
        )
