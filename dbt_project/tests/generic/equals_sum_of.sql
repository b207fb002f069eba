{#
    Fails for every row whose `column_name` differs from the sum of `columns` (nulls count as 0),
    e.g. a statement's closing = opening + earnings + adjustments + payouts.
    Usage (column level):
      - equals_sum_of:
          arguments:
            columns: [opening_minor, earnings_minor, adjustments_minor, payouts_minor]
#}
{% test equals_sum_of(model, column_name, columns) %}
    select *
    from {{ model }}
    where coalesce({{ column_name }}, 0) <> (
        {% for column in columns -%}
        coalesce({{ column }}, 0){% if not loop.last %} + {% endif %}
        {%- endfor %}
    )
{% endtest %}
