{#- The column equals `other` within the reconciliation tolerance (vars in dbt_project.yml):
    |column - other| <= tolerance_cents + tolerance_ratio * |other|. Rows outside it fail. -#}
{% test chartmogul_reconciles(model, column_name, other) %}
    select *
    from {{ model }}
    where abs(coalesce({{ column_name }}, 0) - coalesce({{ other }}, 0))
        > {{ var('reconciliation_tolerance_cents') }}
          + {{ var('reconciliation_tolerance_ratio') }} * abs(coalesce({{ other }}, 0))
{% endtest %}


{#- No two rows share the combination of `columns` (dbt's own unique test takes one). -#}
{% test chartmogul_unique_combination(model, columns) %}
    {%- set quoted = [] -%}
    {%- for column in columns %}{% do quoted.append(adapter.quote(column)) %}{% endfor %}
    select {{ quoted | join(', ') }}, count(*) as rows_with_this_key
    from {{ model }}
    group by {{ quoted | join(', ') }}
    having count(*) > 1
{% endtest %}


{#- An expression holds on every row (e.g. opening + movements = closing). -#}
{% test chartmogul_holds(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
