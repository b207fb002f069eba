-- grain: one row per calendar day, 2020-01-01 to 2035-12-31: MetricFlow's time spine for metric_time
with days as (
    {{ dbt.date_spine('day', "cast('2020-01-01' as date)", "cast('2036-01-01' as date)") }}
)

select cast(date_day as date) as date_day
from days
