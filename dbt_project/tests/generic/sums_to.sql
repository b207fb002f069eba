{#
    Fails for every group whose `column_name` does not sum to `value`
    (e.g. a work's split shares must total 10000 basis points).
#}
{% test sums_to(model, column_name, group_by, value) %}
    {{ sums_to_failures(model, column_name, group_by, value) }}
{% endtest %}
