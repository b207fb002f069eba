"""One check per reference asset, so a held change or a kept last good version shows in the UI as a warning until
a person settles it (`backbeat reference list`)."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from backbeat.common.reference import REFERENCE_CHANGES
from integrations.warehouse import WarehouseResource

REFERENCE_ASSETS = (
    "airplay/stations",
    "airplay/program_schedule",
    "airplay/program_overrides",
    "royalties/tariffs",
    "rights/splits",
    "rights/contracts",
    "outreach/contacts",
)


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
