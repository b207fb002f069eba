{#
    Every model lands in the target's schema (`analytics`), with no `<target>_<custom>` suffixes:
    the finance export and Dagster read `analytics.<model>` directly.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ target.schema }}
{%- endmacro %}
