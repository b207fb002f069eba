{#
    Fails for every group (e.g. a ledger batch × currency) whose `column_name` does not sum to zero.
    Usage:
      - sums_to_zero:
          group_by: [batch_id, currency]
#}
{% test sums_to_zero(model, column_name, group_by) %}
    {{ sums_to_failures(model, column_name, group_by, 0) }}
{% endtest %}
