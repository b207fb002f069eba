"""Facts the money must satisfy for every station-day."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetKey, asset_check

from integrations.warehouse import WarehouseResource
from orchestration.partitions import station_day_partitions, station_days

LEDGER_KEY = AssetKey(["royalties", "royalty_ledger"])


@asset_check(asset=LEDGER_KEY, partitions_def=station_day_partitions,
             description="Every posting batch of the station-day sums to zero, per currency.")
def ledger_batches_balance(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    (station, day), = station_days([context.partition_key])
    batches = warehouse.client().query(
        "SELECT batch_id, currency, CAST(sum(amount_minor) AS BIGINT) AS balance, count(*) AS lines "
        "FROM royalties.royalty_ledger WHERE station_id = ? AND posted_for = ? GROUP BY batch_id, currency",
        [station, day],
    )
    unbalanced = batches.filter(batches["balance"] != 0)
    return AssetCheckResult(
        passed=unbalanced.is_empty(),
        metadata={"batches": batches.height, "unbalanced_batches": unbalanced.height,
                  "lines": int(batches["lines"].sum()) if batches.height else 0},
    )


@asset_check(asset=LEDGER_KEY, partitions_def=station_day_partitions,
             description="Every play of the station-day is debited exactly once (or quarantined for lack of a tariff).")
def ledger_pays_every_play_once(context: AssetCheckExecutionContext, warehouse: WarehouseResource
                                ) -> AssetCheckResult:
    (station, day), = station_days([context.partition_key])
    db = warehouse.client()
    counts = db.query(
        "SELECT p.play_id, count(l.play_id) AS debits FROM airplay.playlogs p "
        "LEFT JOIN royalties.royalty_ledger l ON l.play_id = p.play_id AND l.account = 'station_receivable' "
        "WHERE p.station_id = ? AND p.play_date = ? GROUP BY p.play_id",
        [station, day],
    )
    unpriced = db.scalar(
        "SELECT count(*) FROM quarantine.rejected_rows WHERE asset = 'royalties/royalty_ledger' AND partition_key = ?",
        [f"{day}|{station}"],
    ) or 0
    unpaid = counts.filter(counts["debits"] == 0).height
    paid_twice = counts.filter(counts["debits"] > 1).height
    return AssetCheckResult(
        passed=paid_twice == 0 and unpaid == unpriced,
        metadata={"plays": counts.height, "unpaid": unpaid, "paid_more_than_once": paid_twice,
                  "quarantined_for_tariff": int(unpriced)},
    )
