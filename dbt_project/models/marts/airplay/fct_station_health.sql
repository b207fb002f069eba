-- grain: one row per monitored station: its capture, gaps, matches and plays, and how far matching has got
with stations as (
    select * from {{ ref('stg_airplay__stations') }}
),

chunks as (
    select
        station_id,
        cast(count(*) as bigint) as chunk_count,
        min(started_at_utc) as first_chunk_at_utc,
        max(started_at_utc) as last_chunk_at_utc,
        max(chunk_date) as last_chunk_date,
        cast(sum(duration_s) / 3600.0 as double precision) as captured_hours
    from {{ ref('stg_airplay__stream_chunks') }}
    group by station_id
),

gaps_ranked as (
    select
        gaps.*,
        row_number() over (partition by gaps.station_id order by gaps.gap_started_at_utc desc) as recency_rank
    from {{ ref('stg_airplay__capture_gaps') }} as gaps
),

gaps as (
    select
        station_id,
        cast(count(*) as bigint) as gap_count,
        cast(coalesce(sum(gap_seconds), 0) / 3600.0 as double precision) as gap_hours,
        max(case when recency_rank = 1 then gap_started_at_utc end) as last_gap_at_utc,
        max(case when recency_rank = 1 then reason end) as last_gap_reason
    from gaps_ranked
    group by station_id
),

detections as (
    select
        station_id,
        cast(count(*) as bigint) as detection_count,
        max(chunk_date) as last_detection_date
    from {{ ref('stg_airplay__detections') }}
    group by station_id
),

statuses as (
    select
        station_id,
        max(shard) as shard,
        max(case when stage = 'royalty_ledger' then status_date end) as last_posted_date,
        max(updated_at_utc) as last_processed_at_utc
    from {{ ref('stg_airplay__station_day_status') }}
    group by station_id
),

plays as (
    select
        station_id,
        cast(count(*) as bigint) as play_count,
        max(started_at_utc) as last_play_at_utc
    from {{ ref('stg_airplay__plays') }}
    group by station_id
)

select
    stations.station_id,
    stations.station_name,
    stations.is_active,
    statuses.shard,
    chunks.first_chunk_at_utc,
    chunks.last_chunk_at_utc,
    coalesce(chunks.chunk_count, 0) as chunk_count,
    coalesce(chunks.captured_hours, 0) as captured_hours,
    coalesce(gaps.gap_count, 0) as gap_count,
    coalesce(gaps.gap_hours, 0) as gap_hours,
    gaps.last_gap_at_utc,
    gaps.last_gap_reason,
    coalesce(detections.detection_count, 0) as detection_count,
    case
        when chunks.captured_hours > 0
            then cast(coalesce(detections.detection_count, 0) / chunks.captured_hours as double precision)
    end as matches_per_hour,
    coalesce(plays.play_count, 0) as play_count,
    case
        when chunks.captured_hours > 0
            then cast(coalesce(plays.play_count, 0) / chunks.captured_hours as double precision)
    end as plays_per_hour,
    plays.last_play_at_utc,
    statuses.last_posted_date,
    statuses.last_processed_at_utc,
    case
        when chunks.station_id is null then 'never_captured'
        when detections.station_id is null then 'no_matches'
        when detections.last_detection_date < chunks.last_chunk_date then 'behind'
        else 'current'
    end as scan_status
from stations
left join chunks on stations.station_id = chunks.station_id
left join gaps on stations.station_id = gaps.station_id
left join detections on stations.station_id = detections.station_id
left join plays on stations.station_id = plays.station_id
left join statuses on stations.station_id = statuses.station_id
