-- The MRR bridge per month: opening MRR, the five movements, closing MRR, and customers.
with daily as (
    select *, {{ month_of('day') }} as "month"
    from {{ ref('int_chartmogul__mrr_daily') }}
),

months as (
    select
        "month",
        max(day) as through_date,
        sum(mrr_new_business) as mrr_new_business,
        sum(mrr_expansion) as mrr_expansion,
        sum(mrr_contraction) as mrr_contraction,
        sum(mrr_churn) as mrr_churn,
        sum(mrr_reactivation) as mrr_reactivation
    from daily
    group by "month"
),

closing as (
    select months.*, daily.mrr as closing_mrr, daily.customers as closing_customers
    from months
    inner join daily on daily.day = months.through_date
),

customers as (
    select
        "month",
        sum(case when "month" = cohort_month then 1 else 0 end) as new_customers,
        sum(
            case when "month" > cohort_month and previous_mrr <= 0 and mrr > 0 then 1 else 0 end
        ) as reactivated_customers,
        sum(case when previous_mrr > 0 and mrr <= 0 then 1 else 0 end) as churned_customers
    from {{ ref('customer_mrr_monthly') }}
    group by "month"
)

select
    closing."month",
    closing.through_date,
    cast(coalesce(lag(closing.closing_mrr) over by_month, 0) as bigint) as opening_mrr,
    cast(closing.mrr_new_business as bigint) as mrr_new_business,
    cast(closing.mrr_expansion as bigint) as mrr_expansion,
    cast(closing.mrr_contraction as bigint) as mrr_contraction,
    cast(closing.mrr_churn as bigint) as mrr_churn,
    cast(closing.mrr_reactivation as bigint) as mrr_reactivation,
    cast(
        closing.mrr_new_business + closing.mrr_expansion + closing.mrr_contraction
        + closing.mrr_churn + closing.mrr_reactivation
        as bigint
    ) as net_new_mrr,
    cast(closing.closing_mrr as bigint) as closing_mrr,
    cast(coalesce(lag(closing.closing_customers) over by_month, 0) as bigint) as opening_customers,
    cast(coalesce(customers.new_customers, 0) as bigint) as new_customers,
    cast(coalesce(customers.reactivated_customers, 0) as bigint) as reactivated_customers,
    cast(coalesce(customers.churned_customers, 0) as bigint) as churned_customers,
    cast(closing.closing_customers as bigint) as closing_customers
from closing
left join customers on customers."month" = closing."month"
window by_month as (order by closing."month")
