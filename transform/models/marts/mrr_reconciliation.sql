-- ChartMogul's own metrics next to the same figures rebuilt from the activities: one row per
-- row of the unsegmented metrics_mrr series, whatever its interval. Each period runs from the
-- start of the day, week (the account's week_start_on), month, quarter or year that ends on
-- the row's date to that date.
with account as (
    select coalesce(max(week_start_on), 'monday') as week_start_on
    from {{ ref('stg_chartmogul__account') }}
),

metrics as (
    select
        mrr."date",
        mrr."interval",
        mrr.mrr,
        mrr.mrr_new_business,
        mrr.mrr_expansion,
        mrr.mrr_contraction,
        mrr.mrr_churn,
        mrr.mrr_reactivation,
        counts.customers,
        case mrr."interval"
            when 'day' then mrr."date"
            when 'week' then
                case
                    when account.week_start_on = 'sunday'
                        then {{ add_days("cast(date_trunc('week', " ~ add_days('mrr."date"', 1) ~ ") as date)", -1) }}
                    else cast(date_trunc('week', mrr."date") as date)
                end
            when 'month' then {{ month_of('mrr."date"') }}
            when 'quarter' then cast(date_trunc('quarter', mrr."date") as date)
            when 'year' then cast(date_trunc('year', mrr."date") as date)
        end as period_start
    from {{ ref('stg_chartmogul__metrics_mrr') }} as mrr
    cross join account
    left join {{ ref('stg_chartmogul__metrics_customer_count') }} as counts
        on
            counts.segment = mrr.segment
            and counts."date" = mrr."date"
            and counts."interval" = mrr."interval"
    where mrr.segment = 'all'
)

select
    metrics."date",
    metrics."interval",
    metrics.period_start,
    metrics.mrr,
    cast(coalesce(period_end.mrr, 0) as bigint) as mrr_from_activities,
    {%- for column in [
        'mrr_new_business', 'mrr_expansion', 'mrr_contraction', 'mrr_churn', 'mrr_reactivation'
    ] %}
    metrics.{{ column }},
    cast(
        coalesce(period_end.cumulative_{{ column }}, 0)
        - coalesce(before_period.cumulative_{{ column }}, 0)
        as bigint
    ) as {{ column }}_from_activities,
    {%- endfor %}
    metrics.customers,
    cast(coalesce(period_end.customers, 0) as bigint) as customers_from_activities
from metrics
left join {{ ref('int_chartmogul__mrr_daily') }} as period_end
    on period_end.day = metrics."date"
left join {{ ref('int_chartmogul__mrr_daily') }} as before_period
    on before_period.day = {{ add_days('metrics.period_start', -1) }}
