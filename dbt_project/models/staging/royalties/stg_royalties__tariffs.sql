-- grain: one row per tariff period of a station
select
    cast(tariff_id as varchar) as tariff_id,
    cast(station_id as varchar) as station_id,
    cast(currency as varchar) as currency,
    cast(rate_per_second as numeric(18, 6)) as rate_per_second,
    cast(effective_from as date) as effective_from,
    cast(effective_to as date) as effective_to
from {{ source('royalties', 'tariffs') }}
