"""Facts approved splits must satisfy before they move money."""

from dagster import AssetCheckResult, AssetKey, asset_check

from integrations.warehouse import WarehouseResource


@asset_check(asset=AssetKey(["rights", "splits"]),
             description="Approved shares of every work sum to exactly 10000 basis points (100 %).")
def approved_splits_sum_to_full_share(warehouse: WarehouseResource) -> AssetCheckResult:
    works = warehouse.client().query(
        "SELECT work_id, CAST(sum(share_bp) AS BIGINT) AS total FROM rights.splits GROUP BY work_id"
    )
    wrong = works.filter(works["total"] != 10_000)
    return AssetCheckResult(
        passed=wrong.is_empty(),
        metadata={"works": works.height, "works_not_at_100_percent": ", ".join(wrong["work_id"].to_list()[:20])},
    )
