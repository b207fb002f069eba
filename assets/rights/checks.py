"""Facts the rights tables must satisfy: approved splits add up, name known parties, and reviews do not pile up."""

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from assets.common.keys import RIGHTS_REVIEW_TASKS, RIGHTS_SPLITS
from integrations.warehouse import WarehouseResource


@asset_check(
    asset=RIGHTS_SPLITS,
    description="Approved shares sum to exactly 10000 basis points (100 %) per subject, "
    "role group and validity window.",
)
def approved_splits_sum_to_full_share(warehouse: WarehouseResource) -> AssetCheckResult:
    pools = warehouse.client().query(
        "SELECT subject_type, subject_id, role_group, valid_from, valid_to, CAST(sum(share_bp) AS BIGINT) AS total "
        "FROM rights.splits GROUP BY subject_type, subject_id, role_group, valid_from, valid_to "
        "ORDER BY subject_type, subject_id, role_group",
        schema={
            "subject_type": pl.Utf8,
            "subject_id": pl.Utf8,
            "role_group": pl.Utf8,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
            "total": pl.Int64,
        },  # typed even when empty (PostgreSQL gives no types then)
    )
    wrong = pools.filter(pools["total"] != 10_000)
    named = [f"{t}:{s} {g} = {total / 100:.2f} %" for t, s, g, _, _, total in wrong.iter_rows()]
    return AssetCheckResult(
        passed=wrong.is_empty(),
        metadata={"pools": pools.height, "pools_not_at_100_percent": ", ".join(named[:20]) or "none"},
    )


@asset_check(asset=RIGHTS_SPLITS, description="Every approved share goes to a party in rights.parties.")
def approved_splits_name_known_parties(warehouse: WarehouseResource) -> AssetCheckResult:
    unknown = warehouse.client().query(
        "SELECT DISTINCT s.party_id FROM rights.splits s LEFT JOIN rights.parties p ON p.party_id = s.party_id "
        "WHERE p.party_id IS NULL ORDER BY 1",
        schema={"party_id": pl.Utf8},
    )
    return AssetCheckResult(
        passed=unknown.is_empty(),
        metadata={"unknown_parties": ", ".join(unknown["party_id"].to_list()[:20]) or "none"},
    )


@asset_check(
    asset=RIGHTS_REVIEW_TASKS,
    description="No split set waits for a reviewer: open tasks keep their plays in "
    "suspense (a warning, not a failure of the data).",
)
def no_split_sets_await_review(warehouse: WarehouseResource) -> AssetCheckResult:
    tasks = warehouse.client().query(
        "SELECT task_id, status, rule_codes FROM rights.review_tasks WHERE status IN ('open', 'blocked') "
        "ORDER BY task_id",
        schema={"task_id": pl.Utf8, "status": pl.Utf8, "rule_codes": pl.Utf8},
    )
    waiting = tasks.filter(tasks["status"] == "open")
    blocked = tasks.filter(tasks["status"] == "blocked")
    return AssetCheckResult(
        passed=waiting.is_empty(),
        severity=AssetCheckSeverity.WARN,
        metadata={
            "open_tasks": waiting.height,
            "blocked_split_sets": blocked.height,
            "waiting": ", ".join(f"{t} ({codes})" for t, _, codes in waiting.iter_rows()) or "none",
        },
    )
