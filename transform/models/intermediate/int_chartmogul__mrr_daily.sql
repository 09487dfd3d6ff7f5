-- MRR, paying customers and movements per day, with running totals of the movements so that
-- any period's movements are a difference of two days.
with movements as (
    select * from {{ ref('int_chartmogul__mrr_movements') }}
),

per_day as (
    select
        activity_date as day,
        sum(mrr_movement) as mrr_change,
        {%- for kind, column in [
            ('new_biz', 'mrr_new_business'),
            ('expansion', 'mrr_expansion'),
            ('contraction', 'mrr_contraction'),
            ('churn', 'mrr_churn'),
            ('reactivation', 'mrr_reactivation'),
        ] %}
        sum(case when activity_type = '{{ kind }}' then mrr_movement else 0 end) as {{ column }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from movements
    group by activity_date
),

customer_days as (
    select
        customer_uuid,
        activity_date as day,
        sum(sum(mrr_movement)) over (
            partition by customer_uuid
            order by activity_date
            rows between unbounded preceding and current row
        ) as mrr_after
    from movements
    group by customer_uuid, activity_date
),

customer_changes as (
    select
        day,
        sum(
            case
                when coalesce(mrr_before, 0) <= 0 and mrr_after > 0 then 1
                when coalesce(mrr_before, 0) > 0 and mrr_after <= 0 then -1
                else 0
            end
        ) as customers_change
    from (
        select
            day,
            mrr_after,
            lag(mrr_after) over (partition by customer_uuid order by day) as mrr_before
        from customer_days
    ) as levels
    group by day
),

filled as (
    select
        days.day,
        coalesce(per_day.mrr_change, 0) as mrr_change,
        coalesce(per_day.mrr_new_business, 0) as mrr_new_business,
        coalesce(per_day.mrr_expansion, 0) as mrr_expansion,
        coalesce(per_day.mrr_contraction, 0) as mrr_contraction,
        coalesce(per_day.mrr_churn, 0) as mrr_churn,
        coalesce(per_day.mrr_reactivation, 0) as mrr_reactivation,
        coalesce(customer_changes.customers_change, 0) as customers_change
    from {{ ref('int_chartmogul__days') }} as days
    left join per_day on per_day.day = days.day
    left join customer_changes on customer_changes.day = days.day
)

select
    day,
    {%- for column in [
        'mrr_new_business', 'mrr_expansion', 'mrr_contraction', 'mrr_churn', 'mrr_reactivation'
    ] %}
    cast({{ column }} as bigint) as {{ column }},
    {%- endfor %}
    cast(sum(mrr_change) over running as bigint) as mrr,
    cast(sum(customers_change) over running as bigint) as customers,
    {%- for column in [
        'mrr_new_business', 'mrr_expansion', 'mrr_contraction', 'mrr_churn', 'mrr_reactivation'
    ] %}
    cast(sum({{ column }}) over running as bigint) as cumulative_{{ column }}
    {{- "," if not loop.last }}
    {%- endfor %}
from filled
window running as (order by day rows between unbounded preceding and current row)
