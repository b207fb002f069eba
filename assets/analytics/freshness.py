"""Freshness of what people wait for: a station's chunks, the plays, the ledger and the finance export.

Dagster 1.13's freshness policies on the assets (`FRESHNESS_POLICIES`, attached by `with_freshness_policies`):
the daemon's freshness evaluation (instance setting `freshness: enabled: true`) turns an asset WARN, then FAIL,
in the UI when it has not been updated within its window. Station × day partitions are dynamic, so the
per-station view is a check: `stations_are_not_silent` reads the warehouse and fails naming every active
station without a captured chunk for `STATION_SILENT_AFTER`; `station_silence_schedule` evaluates it every five
minutes (a partition run over past days does not judge it).
"""

from datetime import UTC, datetime, timedelta

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    DefaultScheduleStatus,
    Definitions,
    FreshnessPolicy,
    MetadataValue,
    ScheduleDefinition,
    apply_freshness_policy,
    asset_check,
    define_asset_job,
    map_asset_specs,
)
from dagster_shared.record import replace

from assets.common.keys import (
    AIRPLAY_PLAYLOGS,
    AIRPLAY_STREAM_CHUNKS,
    EXPORTS_FINANCE_EXPORT,
    ROYALTIES_ROYALTY_LEDGER,
)
from backbeat.airplay.silence import fresh_until, station_silence
from backbeat.airplay.tables import STATIONS, STREAM_CHUNKS
from integrations.warehouse import WarehouseResource

SILENCE_JOB = "station_silence_job"
STATION_SILENT_AFTER = timedelta(minutes=30)
"""Capture writes a chunk every 30 s: half an hour without one is a station off the air or a capture down."""

FRESHNESS_POLICIES: dict[AssetKey, FreshnessPolicy] = {
    # the landing sensor loads new chunks each minute: some station's chunks at least every 10-30 minutes
    AIRPLAY_STREAM_CHUNKS: FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=30), warn_window=timedelta(minutes=10)
    ),
    # station-day runs turn chunks into plays and post them; about one an hour is normal
    AIRPLAY_PLAYLOGS: FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(hours=1)),
    ROYALTIES_ROYALTY_LEDGER: FreshnessPolicy.time_window(
        fail_window=timedelta(hours=2), warn_window=timedelta(hours=1)
    ),
    # finance reads the export in the morning: published in the 24 h before 06:00 UTC
    EXPORTS_FINANCE_EXPORT: FreshnessPolicy.cron(deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=24)),
}
"""The assets a person waits for, and how late each may be."""


def with_freshness_policies(defs: Definitions) -> Definitions:
    """`defs` (the merged code location) with `FRESHNESS_POLICIES` attached to their assets; nothing else changes.

    As `Definitions.map_asset_specs` does, without its preview warning (as `orchestration/column_schema.py`)."""

    def attach(spec: AssetSpec) -> AssetSpec:
        policy = FRESHNESS_POLICIES.get(spec.key)
        return spec if policy is None else apply_freshness_policy(spec, policy)

    specs = [d for d in defs.assets or [] if isinstance(d, AssetsDefinition | AssetSpec)]
    others = [d for d in defs.assets or [] if not isinstance(d, AssetsDefinition | AssetSpec)]
    return replace(defs, assets=[*map_asset_specs(attach, specs), *others])


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@asset_check(
    asset=AIRPLAY_STREAM_CHUNKS,
    description=f"Every active station has a captured chunk in the last {int(STATION_SILENT_AFTER.seconds / 60)} "
    "minutes (naive UTC, against the wall clock); fails naming the silent stations.",
)
def stations_are_not_silent(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    """Read the stations and the start of each one's last chunk; fail when any active station is silent.

    Silence is judged against the wall clock, so only `station_silence_job` (its schedule, every five minutes, or
    a launch from the UI) judges it; a run that loads chunks of past station-days says so and judges nothing."""
    if context.run.job_name != SILENCE_JOB:
        return AssetCheckResult(
            passed=True,
            metadata={"evaluated": f"no: judged by {SILENCE_JOB} against the wall clock, not by a partition run"},
        )
    db = warehouse.client()
    db.ensure(STATIONS, STREAM_CHUNKS)
    stations = db.read(STATIONS).select("station_id", "active")
    last = db.query(
        "SELECT station_id, max(start_utc) AS last_chunk_utc FROM airplay.stream_chunks GROUP BY station_id",
        schema={"station_id": pl.String, "last_chunk_utc": pl.Datetime("us")},
    )
    report = station_silence(stations, last, _utcnow(), STATION_SILENT_AFTER)
    silent = report.filter(pl.col("silent"))
    metadata: dict = {
        "active_stations": report.height,
        "silent_stations": silent.height,
        "silent": MetadataValue.md(
            "\n".join(
                f"- `{r['station_id']}`: "
                + (f"last chunk {r['last_chunk_utc']:%Y-%m-%d %H:%M} UTC" if r["last_chunk_utc"] else "never captured")
                for r in silent.head(50).iter_rows(named=True)
            )
            or "_none_"
        ),
    }
    until = fresh_until(report, STATION_SILENT_AFTER) if silent.is_empty() else None
    if until is not None:
        metadata["fresh_until"] = MetadataValue.timestamp(until.replace(tzinfo=UTC))
    return AssetCheckResult(passed=silent.is_empty(), severity=AssetCheckSeverity.ERROR, metadata=metadata)


station_silence_job = define_asset_job(
    SILENCE_JOB,
    selection=AssetSelection.checks(stations_are_not_silent),
    description="Which active stations have gone silent (no captured chunk for 30 minutes).",
)

station_silence_schedule = ScheduleDefinition(
    name="station_silence_schedule",
    job=station_silence_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,  # on in production (deploy/README.md); demo data is historical
    description="Every five minutes: fail `stations_are_not_silent` when an active station has gone silent.",
)

defs = Definitions(
    asset_checks=[stations_are_not_silent], jobs=[station_silence_job], schedules=[station_silence_schedule]
)
"""The per-station check and its schedule; the policies are attached to the merged definitions."""
