-- Each customer's MRR at every month end, from its first activity's month to the as-of date.
with movements as (
    select * from {{ ref('int_chartmogul__mrr_movements') }}
),

by_month as (
    select
        customer_uuid,
        activity_month as "month",
        sum(mrr_movement) as mrr_change
    from movements
    group by customer_uuid, activity_month
),

firsts as (
    select customer_uuid, min("month") as first_month
    from by_month
    group by customer_uuid
),

months as (
    select distinct {{ month_of('day') }} as "month"
    from {{ ref('int_chartmogul__days') }}
),

filled as (
    select
        firsts.customer_uuid,
        months."month",
        coalesce(by_month.mrr_change, 0) as mrr_change,
        sum(coalesce(by_month.mrr_change, 0)) over (
            partition by firsts.customer_uuid
            order by months."month"
            rows between unbounded preceding and current row
        ) as mrr
    from firsts
    inner join months on months."month" >= firsts.first_month
    left join by_month
        on by_month.customer_uuid = firsts.customer_uuid and by_month."month" = months."month"
),

cohorts as (
    select customer_uuid, min(case when mrr > 0 then "month" end) as cohort_month
    from filled
    group by customer_uuid
)

select
    filled.customer_uuid,
    filled."month",
    cast(filled.mrr as bigint) as mrr,
    cast(
        coalesce(
            lag(filled.mrr) over (partition by filled.customer_uuid order by filled."month"), 0
        ) as bigint
    ) as previous_mrr,
    cast(filled.mrr_change as bigint) as mrr_change,
    cohorts.cohort_month,
    case
        when cohorts.cohort_month <= filled."month"
            then {{ months_between('cohorts.cohort_month', 'filled."month"') }}
    end as months_since_cohort
from filled
inner join cohorts on cohorts.customer_uuid = filled.customer_uuid
