{#- One row per primary key of a raw table: the latest load wins, rows deleted upstream go.

    Targets load differently: the quick start's DuckDB loader replaces its tables on every
    load, target-postgres upserts on the key, an append-only target (or target-jsonl files
    loaded one after another) keeps every copy. All of them write `_sdc_batched_at` (when the
    row's batch was loaded) and `_sdc_sequence` (its order within the load), so the newest row
    of a key is the one with the highest pair. A row whose `_sdc_deleted_at` is set (target-
    postgres without hard_delete, after ACTIVATE_VERSION) was deleted in ChartMogul.
    Columns are looked up when the model runs, so a table without them still works. -#}
{% macro chartmogul_latest(relation, key) %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do names.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set order = [] -%}
    {%- for column in ['_sdc_batched_at', '_sdc_sequence'] if column in names -%}
        {%- do order.append(column ~ ' desc nulls last') -%}
    {%- endfor %}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {% for column in key %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor %}
                {%- if order %} order by {{ order | join(', ') }}{% endif %}
            ) as _chartmogul_row
        from {{ relation }}
    ) as ranked
    where _chartmogul_row = 1
    {%- if '_sdc_deleted_at' in names %} and _sdc_deleted_at is null{% endif %}
{% endmacro %}


{#- A timestamp column as `timestamp` (no time zone) in UTC, whatever the warehouse stored.
    The DuckDB loader keeps `timestamptz`; target-postgres writes wall-clock time of the
    loading session's zone into `timestamp` (UTC when loaded as README.md says). -#}
{% macro utc_timestamp(column) -%}
    {{ adapter.dispatch('utc_timestamp')(column) }}
{%- endmacro %}

{% macro default__utc_timestamp(column) -%}
    cast({{ column }} as timestamp)
{%- endmacro %}

{% macro duckdb__utc_timestamp(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}


{#- An object or array column as JSON text: DuckDB keeps JSON, target-postgres jsonb or
    arrays (text[]), and one text form lets models and snapshots compare them alike. -#}
{% macro json_text(column) -%}
    {{ adapter.dispatch('json_text')(column) }}
{%- endmacro %}

{% macro default__json_text(column) -%}
    cast({{ column }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro postgres__json_text(column) -%}
    cast(to_jsonb({{ column }}) as text)
{%- endmacro %}
