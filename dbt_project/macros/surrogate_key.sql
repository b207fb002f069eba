{#
    Portable compound key: the columns cast to varchar and joined with '|'.
    Works the same on DuckDB and PostgreSQL. A null part makes the whole key null,
    so a `not_null` test on the key also catches a missing part.
#}
{% macro surrogate_key(columns) -%}
    {%- for column in columns -%}
        cast({{ column }} as varchar){% if not loop.last %} || '|' || {% endif %}
    {%- endfor -%}
{%- endmacro %}
