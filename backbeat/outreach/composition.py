"""Compose ahead of sending: every step still to send, rendered for every prospect it will go to and checked,
and (when text generation is on and asked for) a generated draft per prospect waiting for a person.

The send engine composes again at send time (`sender.SendEngine._content`), with the prospect's real one-click
URL; this pass exists so a person sees problems while they can still be fixed, not as failed prospects later: a
contact whose name is missing for a template that greets by first name, a body over the template's limit, a
claim the template forbids. It renders with a stand-in unsubscribe URL (`PREVIEW_UNSUBSCRIBE_URL`, which is
never sent) and stores nothing for templates.

Generation (`backbeat/outreach/generation.py`) is off by default. When it is on, each `(campaign, step)` in
`generate` gets one draft per active prospect that has none for that step yet (`pending_approval`, or
`failed_checks` with the reasons); the send path then sends a step only once its draft is approved
(`backbeat outreach approve`). A provider error stops generation for that step and is reported; the template
check goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from backbeat.outreach.clock import utcnow
from backbeat.outreach.compose import (
    CheckFailed,
    ComposeError,
    MissingVariable,
    TemplateVersion,
    compose,
    engine_context,
    template_from_row,
)
from backbeat.outreach.generation import DraftRequest, GenerationDisabled, GenerationSettings, generate_draft
from backbeat.outreach.prospecting_tables import DRAFTS
from integrations.textgen import TextGenClient
from integrations.warehouse import Warehouse

PREVIEW_UNSUBSCRIBE_URL = "https://unsubscribe.invalid/preview"
"""The one-click URL templates are checked with (the real one is made per contact at send time)."""

PENDING_SQL = """
SELECT k.campaign_id, k.org_id, k.name AS campaign_name, k.track_title, s.step_no, s.template_id,
       s.template_version, p.prospect_id, c.email, c.name, c.company, m.display_name
FROM outreach.campaigns k
JOIN outreach.sequence_steps s ON s.campaign_id = k.campaign_id
JOIN outreach.prospects p ON p.campaign_id = k.campaign_id AND p.status = 'active'
JOIN outreach.org_contacts c ON c.org_id = p.org_id AND c.contact_id = p.contact_id
LEFT JOIN outreach.mailboxes m ON m.mailbox_id = p.mailbox_id
WHERE k.status IN ('draft', 'active', 'paused')
AND NOT EXISTS (SELECT 1 FROM outreach.send_attempts a WHERE a.prospect_id = p.prospect_id
                AND a.step_no = s.step_no AND a.event = 'sent')
ORDER BY k.campaign_id, s.step_no, p.prospect_id
"""


@dataclass
class StepComposition:
    """One campaign step: prospects it will still go to, how many compose cleanly, problems by reason, the
    drafts generated in this pass and those still waiting for a person."""

    campaign_id: str
    step_no: int
    template: str
    pending: int = 0
    ready: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    drafts_generated: int = 0
    drafts_failed_checks: int = 0
    drafts_awaiting_approval: int = 0
    generation_error: str | None = None
    sample_subject: str | None = None

    def line(self) -> str:
        """What a person reads: `campaign step n (template vN): 12 pending, 11 ready; 1 missing_variable:...`."""
        problems = ", ".join(f"{n} {reason}" for reason, n in sorted(self.problems.items()))
        text = f"{self.campaign_id} step {self.step_no} ({self.template}): {self.pending} to send, {self.ready} ready"
        if problems:
            text += f"; refused: {problems}"
        if self.drafts_generated or self.drafts_awaiting_approval or self.generation_error:
            text += (
                f"; drafts generated {self.drafts_generated} ({self.drafts_failed_checks} failed checks), "
                f"awaiting approval {self.drafts_awaiting_approval}"
            )
        if self.generation_error:
            text += f"; generation stopped: {self.generation_error}"
        return text


def parse_step(item: str) -> tuple[str, int]:
    """`campaign_id:step_no` (as the CLI's --generate and the drafts asset's config take it) as a pair."""
    campaign, _, step = item.rpartition(":")
    if not campaign or not step.isdigit():
        raise ValueError(f"{item!r} is not CAMPAIGN:STEP (e.g. spring-single:1)")
    return campaign, int(step)


def _reason(exc: ComposeError) -> str:
    if isinstance(exc, MissingVariable):
        return f"missing_variable:{exc.variable}"
    if isinstance(exc, CheckFailed):
        return "failed_checks:" + ",".join(sorted({f.check for f in exc.failures}))
    return type(exc).__name__


def compose_pending(
    warehouse: Warehouse,
    *,
    generation: GenerationSettings | None = None,
    generate: Iterable[tuple[str, int]] = (),
    client: TextGenClient | None = None,
    now: datetime | None = None,
    examples: int = 3,
) -> list[StepComposition]:
    """Check every step still to send for every active prospect of every open campaign; generate drafts for
    the `(campaign_id, step_no)` pairs in `generate` when `generation` is enabled (`GenerationDisabled`
    otherwise, before anything is asked). Returns one `StepComposition` per campaign step with prospects."""
    wanted = set(generate)
    settings = generation or GenerationSettings()
    if wanted and not settings.enabled:
        raise GenerationDisabled("drafts were asked for, but text generation is off (see generation.py)")
    warehouse.ensure(DRAFTS)
    rows = warehouse.query(PENDING_SQL)
    drafted = {
        (str(c), int(s), str(p)): str(status)
        for c, s, p, status in warehouse.query(
            f"SELECT campaign_id, step_no, prospect_id, status FROM {DRAFTS.qualified_name} "
            "WHERE source = 'generated' AND prospect_id IS NOT NULL AND status <> 'rejected'"
        ).iter_rows()
    }
    templates: dict[tuple[str, int], TemplateVersion] = {}
    steps: dict[tuple[str, int], StepComposition] = {}
    when = now or utcnow()
    for r in rows.iter_rows(named=True):
        key = (r["template_id"], int(r["template_version"]))
        if key not in templates:
            row = warehouse.query(
                "SELECT * FROM outreach.templates WHERE template_id = ? AND version = ?", list(key)
            ).row(0, named=True)
            templates[key] = template_from_row(row)
        template = templates[key]
        step_key = (r["campaign_id"], int(r["step_no"]))
        step = steps.setdefault(step_key, StepComposition(*step_key, f"{key[0]} v{key[1]}"))
        step.pending += 1
        context = engine_context(
            name=r["name"],
            company=r["company"],
            track=r["track_title"],
            campaign=r["campaign_name"],
            sender_name=r["display_name"],
            unsubscribe_url=PREVIEW_UNSUBSCRIBE_URL,
        )
        try:
            rendered = compose(template, context)
        except ComposeError as exc:
            step.problems[_reason(exc)] += 1
            if len(step.examples) < examples:
                step.examples.append(f"{r['email']}: {exc}")
            continue
        step.ready += 1
        step.sample_subject = step.sample_subject or rendered.subject
        status = drafted.get((*step_key, r["prospect_id"]))
        if status == "pending_approval":
            step.drafts_awaiting_approval += 1
        if step_key not in wanted or status is not None or step.generation_error:
            continue
        try:
            draft = generate_draft(
                warehouse,
                settings,
                template,
                DraftRequest(r["org_id"], r["campaign_id"], int(r["step_no"]), r["email"], context, r["prospect_id"]),
                client=client,
                now=when,
            )
        except Exception as exc:  # noqa: BLE001 - a provider failure stops this step's generation, not the pass
            step.generation_error = f"{type(exc).__name__}: {exc}"
            continue
        step.drafts_generated += 1
        if draft.status == "failed_checks":
            step.drafts_failed_checks += 1
        else:
            step.drafts_awaiting_approval += 1
    return list(steps.values())
