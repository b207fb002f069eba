"""One check per reference asset, so a held change or a kept last good version shows in the UI as a warning until
a person settles it (`backbeat reference list`)."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from assets.common.keys import (
    AIRPLAY_PROGRAM_OVERRIDES,
    AIRPLAY_PROGRAM_SCHEDULE,
    AIRPLAY_STATIONS,
    OUTREACH_CONTACTS,
    RIGHTS_CONTRACTS,
    RIGHTS_SPLITS,
    ROYALTIES_TARIFFS,
)
from backbeat.common.reference import REFERENCE_CHANGES
from integrations.warehouse import WarehouseResource

REFERENCE_ASSETS = tuple(
    key.to_user_string()
    for key in (
        AIRPLAY_STATIONS,
        AIRPLAY_PROGRAM_SCHEDULE,
        AIRPLAY_PROGRAM_OVERRIDES,
        ROYALTIES_TARIFFS,
        RIGHTS_SPLITS,
        RIGHTS_CONTRACTS,
        OUTREACH_CONTACTS,
    )
)
"""The reference assets by name (`airplay/stations`): the name `backbeat reference` and the change log use."""


def reference_check(asset: str) -> AssetChecksDefinition:
    """`reference_data_applied_as_read` on `asset`: warns while a change of it is held or a version kept."""

    @asset_check(
        asset=AssetKey(asset.split("/")),
        name="reference_data_applied_as_read",
        description="The latest file was applied as read: no change of this reference data waits for a "
        "person and no last good version was kept in force over an unreadable file or rejected rows.",
    )
    def _check(warehouse: WarehouseResource) -> AssetCheckResult:
        open_changes = warehouse.client().read(REFERENCE_CHANGES, "asset = ? AND status IN ('held', 'kept')", [asset])
        rows = open_changes.sort("recorded_at").to_dicts()
        return AssetCheckResult(
            passed=not rows,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "held": sum(r["status"] == "held" for r in rows),
                "kept": sum(r["status"] == "kept" for r in rows),
                "changes": MetadataValue.md(
                    "\n".join(f"- `{r['change_id']}` ({r['status']}): {r['reason']}" for r in rows) or "none"
                ),
            },
        )

    return _check


REFERENCE_CHECKS = [reference_check(asset) for asset in REFERENCE_ASSETS]
