{#- The date the models describe: var as_of_date, else the latest metric or activity date
    (the day of the sync), so a rebuild of the same data gives the same figures. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (
            select max(day)
            from (
                select max(activity_date) as day from {{ ref('int_chartmogul__mrr_movements') }}
                union all
                select max("date") from {{ ref('stg_chartmogul__metrics_mrr') }}
            ) as latest
        )
    {%- endif -%}
{%- endmacro %}


{#- First day of the month of a date, as a date (DuckDB's date_trunc returns a timestamp). -#}
{% macro month_of(column) -%}
    cast(date_trunc('month', {{ column }}) as date)
{%- endmacro %}


{#- Whole months from month `first` to month `last` (both first days of months). -#}
{% macro months_between(first, last) -%}
    cast(
        (extract(year from {{ last }}) - extract(year from {{ first }})) * 12
        + extract(month from {{ last }}) - extract(month from {{ first }})
        as integer
    )
{%- endmacro %}


{#- `count` days after a date, as a date. -#}
{% macro add_days(column, count) -%}
    cast({{ column }} + ({{ count }}) * interval '1 day' as date)
{%- endmacro %}
