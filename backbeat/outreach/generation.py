"""The optional text-generation hook: drafts written by a Gemini-style model, checked, and approved by a person.

**Off by default.** `GenerationSettings.enabled` is False unless configuration turns it on
(`BACKBEAT_TEXTGEN_ENABLED=1` with `BACKBEAT_TEXTGEN_API_KEY`, optionally `BACKBEAT_TEXTGEN_URL` and
`BACKBEAT_TEXTGEN_MODEL`); while off, `generate_draft` raises `GenerationDisabled` before any request.

A draft is one email for one recipient and step. The prompt carries the step's template rendered for the
prospect (the frame: facts and tone) and the claims the template forbids; the model's answer (`Subject: ...`,
a blank line, the body) gets the engine's unsubscribe footer (`compose.ENGINE_FOOTER`, its
`{{ unsubscribe_url }}` filled only at send time) and must pass the same checks as a template
(`compose.check_message`: lengths, footer, nothing unresolved, no forbidden claim; a MAX_TOKENS answer fails as
truncated). It is stored in `outreach.drafts` with prompt, model and template version: `pending_approval` when
the checks pass, `failed_checks` otherwise. `approve_draft` re-runs the checks and records the approver (a
failing draft cannot be approved); the send path asks `approved_body_for`, which returns only approved text,
unchanged since approval (a digest is kept at approval), and refuses while a draft for the step awaits a person.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from backbeat.outreach.clock import utcnow
from backbeat.outreach.compose import (
    DEFAULT_FORBIDDEN_PHRASES,
    DEFAULT_MAX_BODY_CHARS,
    DEFAULT_MAX_SUBJECT_CHARS,
    ENGINE_FOOTER,
    UNSUBSCRIBE_PLACEHOLDER,
    CheckFailure,
    TemplateVersion,
    check_message,
    render,
)
from backbeat.outreach.prospecting_tables import DRAFTS
from backbeat.outreach.store import insert_row, log_activity
from backbeat.outreach.tables import ACTIVITY
from integrations.textgen import DEFAULT_BASE_URL, Generation, TextGenClient
from integrations.warehouse import Warehouse, WarehouseConnection

ENABLED_ENV = "BACKBEAT_TEXTGEN_ENABLED"
API_KEY_ENV = "BACKBEAT_TEXTGEN_API_KEY"
URL_ENV = "BACKBEAT_TEXTGEN_URL"
MODEL_ENV = "BACKBEAT_TEXTGEN_MODEL"
DEFAULT_MODEL = "gemini-2.5-flash"
FRAME_START = "----- FRAME -----"
FRAME_END = "----- END FRAME -----"
SYSTEM_INSTRUCTION = (
    "You write short, honest, plain-text emails from a music promoter to radio programmers and music writers. "
    "Never promise airplay, plays, rotation, chart positions, streams or placement. No HTML, no markdown."
)
_SENDABLE = ("approved", "sent")
_BLOCKING = ("pending_approval", "failed_checks")


class GenerationDisabled(RuntimeError):
    """Text generation was asked for while configuration leaves it off (the default)."""


class DraftError(ValueError):
    """A draft cannot do what was asked; names the draft."""


class DraftNotFound(DraftError):
    """No draft with that id."""


class DraftNotApprovable(DraftError):
    """The draft fails its checks, or was rejected: `failures` lists the checks."""

    def __init__(self, message: str, failures: tuple[CheckFailure, ...] = ()) -> None:
        super().__init__(message)
        self.failures = failures


class DraftNotApproved(DraftError):
    """The send path asked for a step whose generated draft no person has approved (or that changed since)."""


@dataclass(frozen=True)
class GenerationSettings:
    """Whether and how to call the text-generation provider; `enabled` is False unless configured."""

    enabled: bool = False
    api_key: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    temperature: float = 0.7
    max_output_tokens: int = 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GenerationSettings:
        env = os.environ if environ is None else environ
        return cls(
            enabled=(env.get(ENABLED_ENV) or "").strip().lower() in ("1", "true", "yes", "on"),
            api_key=env.get(API_KEY_ENV, ""),
            base_url=env.get(URL_ENV) or DEFAULT_BASE_URL,
            model=env.get(MODEL_ENV) or DEFAULT_MODEL,
        )

    def client(self) -> TextGenClient:
        """A client for the provider; `GenerationDisabled` while generation is off."""
        if not self.enabled:
            raise GenerationDisabled(f"text generation is off (set {ENABLED_ENV}=1 and {API_KEY_ENV} to enable it)")
        return TextGenClient(self.api_key, base_url=self.base_url)


@dataclass(frozen=True)
class DraftRequest:
    """Whom a draft is for: campaign step and recipient, and the context the step's template renders with."""

    org_id: str
    campaign_id: str
    step_no: int
    email: str
    context: Mapping[str, Any]
    prospect_id: str | None = None
    candidate_id: str | None = None


@dataclass(frozen=True)
class Draft:
    """A stored draft as the CLI shows it."""

    draft_id: str
    org_id: str
    campaign_id: str
    step_no: int
    status: str
    subject: str
    body: str
    prompt: str | None
    model: str | None
    template_id: str | None
    template_version: int | None
    failures: tuple[CheckFailure, ...]
    approver: str | None = None


@dataclass(frozen=True)
class ApprovedDraft:
    """Approved text ready to send: the unsubscribe URL is filled in and the checks passed again."""

    draft_id: str
    subject: str
    body: str
    template_id: str | None
    template_version: int | None
    model: str | None


def frame(template: TemplateVersion, context: Mapping[str, Any]) -> tuple[str, str]:
    """The template rendered for the prospect without its footer lines (the model never sees the link).

    Raises `compose.MissingVariable` when the context lacks a variable, before any request is made."""
    lines = [line for line in template.body.splitlines() if not UNSUBSCRIBE_PLACEHOLDER.search(line)]
    bare = TemplateVersion(
        template_id=template.template_id,
        version=template.version,
        subject=template.subject,
        body="\n".join(lines).rstrip() + "\n",
        footer="template",
    )
    message = render(bare, context)
    return message.subject, message.body


def build_prompt(template: TemplateVersion, context: Mapping[str, Any]) -> str:
    """The prompt: what to write, the rendered frame, and the claims that are forbidden."""
    subject, body = frame(template, context)
    forbidden = "\n".join(f"- {p}" for p in template.all_forbidden_phrases)
    return (
        "Rewrite the email below for this one recipient: keep every fact, keep it under "
        f"{min(template.max_body_chars - len(ENGINE_FOOTER), 1200)} characters, plain text, no placeholders.\n"
        "Answer with a first line 'Subject: <subject>', a blank line, then the body. Do not add an unsubscribe "
        "line: it is added for you.\n"
        f"Never write any of these claims:\n{forbidden}\n"
        f"{FRAME_START}\nSubject: {subject}\n\n{body.rstrip()}\n{FRAME_END}\n"
    )


def parse_reply(text: str, fallback_subject: str) -> tuple[str, str]:
    """(subject, body) from the model's answer: a leading `Subject:` line, else the frame's subject."""
    stripped = text.strip().replace("\r\n", "\n")
    first, _, rest = stripped.partition("\n")
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip(), rest.strip("\n")
    return fallback_subject, stripped


def _rules(template: TemplateVersion) -> dict[str, Any]:
    return {
        "max_subject_chars": template.max_subject_chars,
        "max_body_chars": template.max_body_chars,
        "forbidden_phrases": list(template.all_forbidden_phrases),
    }


def _check(subject: str, body: str, rules: Mapping[str, Any], unsubscribe_url: str | None) -> tuple[CheckFailure, ...]:
    return check_message(
        subject,
        body,
        unsubscribe_url=unsubscribe_url,
        max_subject_chars=int(rules.get("max_subject_chars") or DEFAULT_MAX_SUBJECT_CHARS),
        max_body_chars=int(rules.get("max_body_chars") or DEFAULT_MAX_BODY_CHARS),
        forbidden_phrases=(*DEFAULT_FORBIDDEN_PHRASES, *rules.get("forbidden_phrases", ())),
    )


def _digest(subject: str, body: str) -> str:
    return hashlib.sha256(f"{subject}\n\n{body}".encode()).hexdigest()


def _failures_json(failures: tuple[CheckFailure, ...]) -> list[dict[str, str]]:
    return [{"check": f.check, "part": f.part, "detail": f.detail} for f in failures]


def _failures_from(checks: Mapping[str, Any]) -> tuple[CheckFailure, ...]:
    return tuple(CheckFailure(f["check"], f["part"], f["detail"]) for f in checks.get("failures", ()))


def generate_draft(
    warehouse: Warehouse,
    settings: GenerationSettings,
    template: TemplateVersion,
    request: DraftRequest,
    *,
    client: TextGenClient | None = None,
    now: datetime | None = None,
) -> Draft:
    """Ask the model for one email, check it and store it in `outreach.drafts`; never sends anything.

    `GenerationDisabled` while settings leave generation off (even with a client given). Provider errors
    (`integrations.textgen` taxonomy) propagate after the shared retry policy; nothing is stored then."""
    if not settings.enabled:
        raise GenerationDisabled(f"text generation is off (set {ENABLED_ENV}=1 and {API_KEY_ENV} to enable it)")
    prompt = build_prompt(template, request.context)
    fallback_subject, _ = frame(template, request.context)
    client = client or settings.client()
    generation: Generation = client.generate(
        settings.model,
        prompt,
        system_instruction=SYSTEM_INSTRUCTION,
        temperature=settings.temperature,
        max_output_tokens=settings.max_output_tokens,
    )
    subject, body = parse_reply(generation.text, fallback_subject)
    if not UNSUBSCRIBE_PLACEHOLDER.search(body):
        body = body.rstrip() + ENGINE_FOOTER
    rules = _rules(template)
    failures = _check(subject, body, rules, None)
    if generation.truncated:
        failures += (CheckFailure("truncated", "body", "the model stopped at its token limit (MAX_TOKENS)"),)
    status = "failed_checks" if failures else "pending_approval"
    recipient = request.prospect_id or request.candidate_id or request.email
    draft_id = hashlib.sha256(
        "|".join((request.org_id, request.campaign_id, str(request.step_no), recipient, prompt, subject, body)).encode()
    ).hexdigest()[:32]
    checks = {
        "rules": rules,
        "failures": _failures_json(failures),
        "finish_reason": generation.finish_reason,
        "model_version": generation.model_version,
        "output_tokens": generation.output_tokens,
    }
    with warehouse.connect() as conn:
        conn.ensure(DRAFTS)
        insert_row(
            conn,
            DRAFTS,
            {
                "draft_id": draft_id,
                "org_id": request.org_id,
                "campaign_id": request.campaign_id,
                "candidate_id": request.candidate_id,
                "prospect_id": request.prospect_id,
                "email": request.email,
                "step_no": request.step_no,
                "source": "generated",
                "template_id": template.template_id,
                "template_version": template.version,
                "subject": subject,
                "body": body,
                "prompt": prompt,
                "model": generation.model,
                "checks": json.dumps(checks, sort_keys=True),
                "status": status,
                "created_at": now or utcnow(),
            },
            ignore_conflict=True,  # the same answer to the same prompt is the same draft
        )
    return load_draft(warehouse, draft_id)


def _draft_from_row(row: Mapping[str, Any]) -> Draft:
    checks = json.loads(row["checks"] or "{}")
    return Draft(
        draft_id=row["draft_id"],
        org_id=row["org_id"],
        campaign_id=row["campaign_id"],
        step_no=int(row["step_no"]),
        status=row["status"],
        subject=row["subject"] or "",
        body=row["body"] or "",
        prompt=row["prompt"],
        model=row["model"],
        template_id=row["template_id"],
        template_version=None if row["template_version"] is None else int(row["template_version"]),
        failures=_failures_from(checks),
        approver=row["approver"],
    )


def _row(conn: WarehouseConnection, draft_id: str) -> dict[str, Any]:
    conn.ensure(DRAFTS)
    rows = conn.query(f"SELECT * FROM {DRAFTS.qualified_name} WHERE draft_id = ?", [draft_id])
    if not rows.height:
        raise DraftNotFound(f"no draft {draft_id}")
    return rows.row(0, named=True)


def load_draft(warehouse: Warehouse, draft_id: str) -> Draft:
    """One draft; `DraftNotFound` when there is none."""
    with warehouse.connect() as conn:
        return _draft_from_row(_row(conn, draft_id))


def list_drafts(
    warehouse: Warehouse, org_id: str, *, campaign_id: str | None = None, status: str | None = None
) -> pl.DataFrame:
    """Drafts of an organisation (optionally one campaign or status), newest first, without prompt and body."""
    where, params = ["org_id = ?"], [org_id]
    if campaign_id is not None:
        where.append("campaign_id = ?")
        params.append(campaign_id)
    if status is not None:
        where.append("status = ?")
        params.append(status)
    frame = warehouse.read(DRAFTS, " AND ".join(where), params)
    cols = ["draft_id", "campaign_id", "step_no", "email", "status", "subject", "model", "template_id"]
    return frame.sort("created_at", descending=True).select([*cols, "template_version", "approver", "created_at"])


def _decide(
    warehouse: Warehouse, draft_id: str, approver: str, decision: str, now: datetime | None
) -> tuple[Draft, tuple[CheckFailure, ...]]:
    if not approver.strip():
        raise DraftError(f"draft {draft_id}: an approver must be named")
    at = now or utcnow()
    with warehouse.connect() as conn:
        row = _row(conn, draft_id)
        status = row["status"]
        if decision == "approved" and status in _SENDABLE:
            return _draft_from_row(row), ()
        if status in ("rejected", "sent") or (decision == "rejected" and status == "approved"):
            raise DraftNotApprovable(f"draft {draft_id} is {status}: it cannot become {decision}")
        checks = json.loads(row["checks"] or "{}")
        failures: tuple[CheckFailure, ...] = ()
        new_status = decision
        if decision == "approved":
            failures = _check(row["subject"] or "", row["body"] or "", checks.get("rules", {}), None)
            failures += tuple(f for f in _failures_from(checks) if f.check == "truncated")
            if failures:
                new_status = "failed_checks"
            else:
                checks["approved_sha256"] = _digest(row["subject"] or "", row["body"] or "")
        checks["failures"] = _failures_json(failures) if decision == "approved" else checks.get("failures", [])
        encoded = json.dumps(checks, sort_keys=True)
        if new_status == "failed_checks":  # nobody decided anything: the checks did
            conn.execute(
                f"UPDATE {DRAFTS.qualified_name} SET status = ?, checks = ? WHERE draft_id = ? AND status = ?",
                [new_status, encoded, draft_id, status],
            )
        else:
            conn.execute(
                f"UPDATE {DRAFTS.qualified_name} SET status = ?, checks = ?, approver = ?, decided_at = ? "
                "WHERE draft_id = ? AND status = ?",
                [new_status, encoded, approver, at, draft_id, status],
            )
        updated = _draft_from_row(_row(conn, draft_id))
        if updated.status != new_status:  # another decision won the race: log nothing
            raise DraftError(f"draft {draft_id} changed while being decided: it is {updated.status}")
        conn.ensure(ACTIVITY)
        log_activity(
            conn,
            org_id=row["org_id"],
            actor=approver,
            action="approve"
            if new_status == "approved"
            else ("reject" if decision == "rejected" else "approve_refused"),
            subject_type="draft",
            subject_id=draft_id,
            at=at,
            detail={"campaign_id": row["campaign_id"], "step_no": row["step_no"], "failures": len(failures)},
        )
    return updated, failures


def approve_draft(warehouse: Warehouse, draft_id: str, approver: str, *, now: datetime | None = None) -> Draft:
    """A person approves a draft: its checks run again first; a failing draft is marked `failed_checks` and
    `DraftNotApprovable` lists the failures. A rejected or sent draft cannot be approved; approving an approved
    draft changes nothing. The decision is logged in `outreach.activity`."""
    draft, failures = _decide(warehouse, draft_id, approver, "approved", now)
    if failures:
        raise DraftNotApprovable(f"draft {draft_id} fails its checks: " + "; ".join(str(f) for f in failures), failures)
    return draft


def reject_draft(warehouse: Warehouse, draft_id: str, approver: str, *, now: datetime | None = None) -> Draft:
    """A person rejects a draft: it is never sent, and it stops blocking its step (the template is used)."""
    draft, _ = _decide(warehouse, draft_id, approver, "rejected", now)
    return draft


def approved_body_for(
    conn: WarehouseConnection, *, campaign_id: str, step_no: int, prospect_id: str, unsubscribe_url: str
) -> ApprovedDraft | None:
    """What the send path sends for a prospect's step when a generated draft exists.

    - None: no generated draft for the step (or only rejected ones): render the step's template as usual;
    - `ApprovedDraft`: the approved (or already sent, for a retried send) draft, newest decision first, with the
      URL in its footer and the checks passed again;
    - `DraftNotApproved`: a draft awaits approval or failed its checks, or the approved text changed after
      approval: nothing may be sent for this step now.

    Runs once per message on the send path, so it does not ensure `outreach.drafts`: the send engine does at start.
    """
    rows = conn.query(
        f"SELECT * FROM {DRAFTS.qualified_name} WHERE campaign_id = ? AND step_no = ? AND prospect_id = ? "
        "AND source = 'generated' ORDER BY decided_at DESC NULLS LAST, created_at DESC",
        [campaign_id, step_no, prospect_id],
    )
    sendable = rows.filter(pl.col("status").is_in(list(_SENDABLE)))
    if not sendable.height:
        waiting = rows.filter(pl.col("status").is_in(list(_BLOCKING)))
        if waiting.height:
            raise DraftNotApproved(
                f"prospect {prospect_id} step {step_no}: draft {waiting['draft_id'][0]} is {waiting['status'][0]}, "
                "not approved"
            )
        return None
    row = sendable.row(0, named=True)
    checks = json.loads(row["checks"] or "{}")
    subject, body = row["subject"] or "", row["body"] or ""
    if checks.get("approved_sha256") != _digest(subject, body):
        raise DraftNotApproved(f"draft {row['draft_id']} changed after it was approved")
    filled = UNSUBSCRIBE_PLACEHOLDER.sub(lambda _: unsubscribe_url, body)
    failures = _check(subject, filled, checks.get("rules", {}), unsubscribe_url)
    if failures:
        raise DraftNotApproved(f"draft {row['draft_id']}: " + "; ".join(str(f) for f in failures))
    return ApprovedDraft(
        draft_id=row["draft_id"],
        subject=subject,
        body=filled,
        template_id=row["template_id"],
        template_version=None if row["template_version"] is None else int(row["template_version"]),
        model=row["model"],
    )


def mark_draft_sent(conn: WarehouseConnection, draft_id: str) -> None:
    """After the send engine recorded the message as sent: the approved draft becomes `sent`."""
    conn.execute(
        f"UPDATE {DRAFTS.qualified_name} SET status = 'sent' WHERE draft_id = ? AND status = 'approved'", [draft_id]
    )
