{#
    Fails for every row where `column_name` (a count of events, e.g. bounces) is more than `max_rate` of
    `denominator` (e.g. messages sent), with the denominator never taken below `min_denominator`: a handful of
    sends cannot make one bounce look like 33 %, while enough events are red however few the sends
    (with max_rate 0.02 and min_denominator 100: 1 bounce of 3 sends passes, 3 of 3 fail, 3 of 120 fail).
    Usage (column level):
      - rate_at_most:
          arguments:
            denominator: sent_count
            max_rate: 0.02
            min_denominator: 100
#}
{% test rate_at_most(model, column_name, denominator, max_rate, min_denominator=1) %}
    select *
    from {{ model }}
    where
        {{ column_name }} > {{ max_rate }} * (
            case
                when coalesce({{ denominator }}, 0) < {{ min_denominator }} then {{ min_denominator }}
                else {{ denominator }}
            end
        )
{% endtest %}
