{#- Models land in the schema their folder names (staging, analytics, snapshots), verbatim:
    dbt's default would prefix the target's schema (analytics_staging). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
