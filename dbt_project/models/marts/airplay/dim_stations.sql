-- grain: one row per monitored station
with stations as (
    select * from {{ ref('stg_airplay__stations') }}
),

tariffs_ranked as (
    select
        tariffs.*,
        row_number() over (
            partition by tariffs.station_id order by tariffs.effective_from desc, tariffs.tariff_id desc
        ) as recency_rank
    from {{ ref('stg_royalties__tariffs') }} as tariffs
),

latest_tariffs as (
    select * from tariffs_ranked
    where recency_rank = 1
)

select
    stations.station_id,
    stations.station_name,
    stations.stream_url,
    stations.is_active,
    stations.timezone,
    latest_tariffs.tariff_id as latest_tariff_id,
    latest_tariffs.currency as latest_tariff_currency,
    latest_tariffs.rate_per_second as latest_tariff_rate_per_second,
    latest_tariffs.effective_from as latest_tariff_effective_from,
    latest_tariffs.effective_to as latest_tariff_effective_to
from stations
left join latest_tariffs on stations.station_id = latest_tariffs.station_id
