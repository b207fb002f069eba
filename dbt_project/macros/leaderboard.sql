{#
    The leaderboard of one kind of entity (track, artist, station, programme) at three grains: day, week
    (ISO, from Monday) and month. Expects a CTE named `plays` with one row per play holding `play_id`,
    `play_date`, `duration_s`, `royalty_amount_minor`, `royalty_currency` and the entity's `keys` and
    `attributes` (attributes depend on the keys; keys must not be null). Returns the CTEs and the final select.

    Ranks: rank() by plays, then airtime (entities tying on both share a rank; the next rank skips). The
    previous period is the day, week or month before; rank_change = previous_rank - play_rank (positive: it
    climbed). Growth is a ratio (0.5 = +50 %) against the previous period, null without plays in it.
#}
{% macro leaderboard(keys, attributes) -%}
{%- set entity = keys + attributes -%}
grained as (
    {%- for grain in ['day', 'week', 'month'] %}
    select
        '{{ grain }}' as grain,
        {% if grain == 'day' -%}
        play_date
        {%- else -%}
        cast({{ dbt.date_trunc(grain, 'play_date') }} as date)
        {%- endif %} as period_start,
        {{ entity | join(',\n        ') }},
        play_id,
        duration_s,
        royalty_amount_minor,
        royalty_currency
    from plays
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

totals as (
    select
        grain,
        period_start,
        {{ entity | join(',\n        ') }},
        cast(count(*) as bigint) as play_count,
        cast(sum(duration_s) as bigint) as airplay_seconds,
        cast(count(royalty_currency) as bigint) as posted_play_count,
        cast(count(distinct royalty_currency) as bigint) as royalty_currency_count,
        min(royalty_currency) as any_royalty_currency,
        cast(sum(royalty_amount_minor) as bigint) as royalty_total_minor
    from grained
    group by
        grain,
        period_start,
        {{ entity | join(',\n        ') }}
),

ranked as (
    select
        totals.*,
        cast(
            rank() over (partition by grain, period_start order by play_count desc, airplay_seconds desc)
            as bigint
        ) as play_rank,
        cast(
            case grain
                when 'day' then {{ dbt.dateadd('day', -1, 'period_start') }}
                when 'week' then {{ dbt.dateadd('day', -7, 'period_start') }}
                else {{ dbt.dateadd('month', -1, 'period_start') }}
            end
            as date
        ) as previous_period_start,
        cast(
            case grain
                when 'day' then period_start
                when 'week' then {{ dbt.dateadd('day', 6, 'period_start') }}
                else {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'period_start')) }}
            end
            as date
        ) as period_end
    from totals
),

latest as (
    select max(play_date) as latest_play_date from plays
)

select
    {{ surrogate_key(['this_period.grain', 'this_period.period_start'] + prefixed(keys, 'this_period')) }}
        as leaderboard_id,
    this_period.grain,
    this_period.period_start,
    this_period.period_end,
    this_period.period_end > latest.latest_play_date as is_partial_period,
    {% for column in entity -%}
    this_period.{{ column }},
    {% endfor -%}
    this_period.play_count,
    this_period.airplay_seconds,
    this_period.posted_play_count,
    case
        when this_period.royalty_currency_count = 1 then this_period.any_royalty_currency
        when this_period.royalty_currency_count > 1 then 'MIXED'
    end as royalty_currency,
    case when this_period.royalty_currency_count = 1 then this_period.royalty_total_minor end as royalties_minor,
    this_period.play_rank,
    previous_period.play_rank as previous_play_rank,
    previous_period.play_rank - this_period.play_rank as rank_change,
    previous_period.play_rank is null as is_new_entry,
    previous_period.play_count as previous_play_count,
    previous_period.airplay_seconds as previous_airplay_seconds,
    {{ growth('this_period.play_count', 'previous_period.play_count') }} as play_growth,
    {{ growth('this_period.airplay_seconds', 'previous_period.airplay_seconds') }} as airplay_growth
from ranked as this_period
cross join latest
left join ranked as previous_period
    on
        this_period.grain = previous_period.grain
        and this_period.previous_period_start = previous_period.period_start
        {%- for key in keys %}
        and this_period.{{ key }} = previous_period.{{ key }}
        {%- endfor %}
{%- endmacro %}


{#- `alias.column` for each column. -#}
{% macro prefixed(columns, alias) -%}
    {%- set out = [] -%}
    {%- for column in columns -%}{%- do out.append(alias ~ '.' ~ column) -%}{%- endfor -%}
    {{- return(out) -}}
{%- endmacro %}


{#- (current - previous) / previous as a decimal(12,4) ratio; null when previous is null or zero. -#}
{% macro growth(current, previous) -%}
    cast(
        round(cast({{ current }} - {{ previous }} as decimal(18, 4)) / nullif({{ previous }}, 0), 4)
        as decimal(12, 4)
    )
{%- endmacro %}
