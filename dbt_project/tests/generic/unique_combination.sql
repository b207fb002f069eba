{#
    Fails for every combination of `columns` that occurs more than once.
    Usage (model level):
      data_tests:
        - unique_combination:
            arguments:
              columns: [batch_id, line_no]
#}
{% test unique_combination(model, columns) %}
    select
        {% for column in columns -%}
        {{ column }},
        {% endfor -%}
        count(*) as occurrences
    from {{ model }}
    group by {% for column in columns %}{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    having count(*) > 1
{% endtest %}
