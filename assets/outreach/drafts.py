"""The compose stage as an asset: `outreach/drafts`, every step still to send composed and checked for every
prospect it will go to, and the text-generation drafts a person has to approve (`backbeat/outreach/composition.py`).

Runs after every campaign change (it is in `outreach_campaigns_job`) and on demand (`outreach_compose_job`, whose
launchpad takes the steps to generate drafts for). Text generation is off unless `BACKBEAT_TEXTGEN_ENABLED=1`;
asking for drafts while it is off fails the run and says which variables to set.
"""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.common.keys import OUTREACH_CAMPAIGNS, OUTREACH_DRAFTS, OUTREACH_ORG_CONTACTS
from backbeat.outreach.composition import compose_pending, parse_step
from backbeat.outreach.generation import GenerationSettings
from backbeat.outreach.prospecting_tables import DRAFTS
from backbeat.outreach.tables import OUTREACH_TABLES
from integrations.warehouse import WarehouseResource


class DraftsConfig(Config):
    """Which steps get generated drafts in this run: `campaign_id:step_no` items (empty: only check)."""

    generate: list[str] = Field(default_factory=list)


@asset(
    key=OUTREACH_DRAFTS,
    deps=[OUTREACH_CAMPAIGNS, OUTREACH_ORG_CONTACTS],
    group_name="outreach",
    kinds={"sql"},
)
def drafts(context: AssetExecutionContext, config: DraftsConfig, warehouse: WarehouseResource) -> MaterializeResult:
    """Generated drafts (`outreach.drafts`: text with prompt, model and template version, checks, status,
    approver), and the compose check of every open campaign: each step still to send rendered for each active
    prospect with its sandboxed Jinja2 template and checked (length, unsubscribe footer, no missing variable, no
    forbidden claim), so a problem shows here before it refuses a send. With text generation on, the steps in the
    run config's `generate` get one draft per prospect, which waits for `backbeat outreach approve`.
    Metadata: per campaign step, prospects to send, ready, refused by reason, drafts generated and awaiting."""
    db = warehouse.client()
    db.ensure(*OUTREACH_TABLES, DRAFTS)
    steps = compose_pending(
        db, generation=GenerationSettings.from_env(), generate={parse_step(item) for item in config.generate}
    )
    for step in steps:
        for example in step.examples:
            context.log.warning(f"{step.campaign_id} step {step.step_no}: {example}")
        if step.generation_error:
            context.log.error(f"{step.campaign_id} step {step.step_no}: generation stopped: {step.generation_error}")
    lines = [step.line() for step in steps]
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(db.scalar(f"SELECT count(*) FROM {DRAFTS.qualified_name}") or 0),
            "steps_checked": len(steps),
            "messages_ready": sum(s.ready for s in steps),
            "messages_refused": sum(sum(s.problems.values()) for s in steps),
            "drafts_generated": sum(s.drafts_generated for s in steps),
            "drafts_awaiting_approval": sum(s.drafts_awaiting_approval for s in steps),
            "steps": MetadataValue.md("\n".join(f"- {line}" for line in lines) if lines else "_nothing to send_"),
            "sample_subjects": MetadataValue.md(
                "\n".join(f"- {s.campaign_id} step {s.step_no}: {s.sample_subject}" for s in steps if s.sample_subject)
                or "_none_"
            ),
        }
    )
