{#
    Shared SQL for the `sums_to` / `sums_to_zero` generic tests: returns one row per group
    whose total of `column_name` differs from `value`.
#}
{% macro sums_to_failures(model, column_name, group_by, value) -%}
    {%- if group_by is string -%}{%- set group_by = [group_by] -%}{%- endif -%}
    select
        {% for column in group_by -%}
        {{ column }},
        {% endfor -%}
        cast(sum({{ column_name }}) as bigint) as total,
        cast({{ value }} as bigint) as expected_total
    from {{ model }}
    group by {% for column in group_by %}{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    having coalesce(cast(sum({{ column_name }}) as bigint), 0) <> cast({{ value }} as bigint)
{%- endmacro %}
