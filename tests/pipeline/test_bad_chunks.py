"""A malformed chunk name or a corrupt audio file is reported clearly and does not stop the other chunks."""

import shutil
from datetime import UTC, datetime

from dagster import materialize

from assets.common.partitions import station_day_key
from integrations.radio.gaps import Gap, record_gap
from orchestration.definitions import build_definitions


def test_bad_files_go_to_quarantine_and_the_rest_is_matched(embedded_backbeat):
    bb = embedded_backbeat
    defs = build_definitions(bb.settings)
    landing = bb.settings.data_dir / "landing"
    good = sorted(landing.glob("radio-north_*"))
    (landing / "radio-north_20261102T999999Z.flac").write_bytes(b"x")  # impossible time
    corrupt = landing / good[3].name.replace(good[3].suffix, ".wav")
    good[3].unlink()
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
    truncated = good[5]
    shutil.copy(truncated, truncated.with_suffix(".tmp"))
    truncated.write_bytes(truncated.with_suffix(".tmp").read_bytes()[:200])
    truncated.with_suffix(".tmp").unlink()

    record_gap(
        landing,
        Gap(
            "radio-north",
            datetime(2026, 11, 2, 6, 3, tzinfo=UTC),
            datetime(2026, 11, 2, 6, 3, 45, tzinfo=UTC),
            "connection reset",
            2,
        ),
    )

    # Only what the chunks feed: the reference data, then the day × shard of radio-north (alone in its shard).
    for job, partition in (
        ("reference_data_job", None),
        ("station_day_job", station_day_key("radio-north", "2026-11-02")),
    ):
        result = defs.resolve_job_def(job).execute_in_process(
            instance=bb.instance, partition_key=partition, raise_on_error=False
        )
        assert result.success, job
    db = bb.warehouse
    rejected = db.query(
        "SELECT asset, partition_key, source_file, field, reason FROM quarantine.rejected_rows "
        "WHERE asset LIKE 'airplay/%' ORDER BY source_file"
    )
    by_file = {row["source_file"].rsplit("/", 1)[-1]: row for row in rejected.iter_rows(named=True)}
    assert "radio-north_20261102T999999Z.flac" in by_file
    assert "not a valid UTC time" in by_file["radio-north_20261102T999999Z.flac"]["reason"]
    assert corrupt.name in by_file and by_file[corrupt.name]["partition_key"] == "2026-11-02|radio-north"
    assert truncated.name in by_file
    stored = db.scalar("SELECT count(*) FROM airplay.stream_chunks WHERE station_id = 'radio-north'")
    matched = db.scalar("SELECT count(DISTINCT chunk_id) FROM airplay.detections WHERE station_id = 'radio-north'")
    assert stored >= len(good) - 2 and matched > 0
    gaps = db.query(
        "SELECT station_id, gap_start_utc, seconds, reason FROM airplay.capture_gaps WHERE station_id = 'radio-north'"
    ).rows()  # radio-south has the demo recorder's gap
    assert gaps == [("radio-north", datetime(2026, 11, 2, 6, 3), 45.0, "connection reset")]

    # the partition re-runs on its own, idempotently
    result = materialize(
        [
            defs.get_assets_def(k)
            for k in (["airplay", "stream_chunks"], ["airplay", "detections"], ["airplay", "playlogs"])
        ],
        instance=bb.instance,
        partition_key=station_day_key("radio-north", "2026-11-02"),
        resources=defs.resources,
    )
    assert result.success
    assert db.scalar("SELECT count(*) FROM airplay.stream_chunks WHERE station_id = 'radio-north'") == stored
