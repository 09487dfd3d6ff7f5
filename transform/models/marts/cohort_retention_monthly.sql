-- Customer and net MRR retention of each cohort (customers by the month of their first MRR),
-- month by month since.
with customer_months as (
    select *
    from {{ ref('customer_mrr_monthly') }}
    where cohort_month is not null and "month" >= cohort_month
),

cohorts as (
    select cohort_month, count(*) as cohort_customers, sum(mrr) as cohort_mrr
    from customer_months
    where "month" = cohort_month
    group by cohort_month
),

retained as (
    select
        cohort_month,
        "month",
        months_since_cohort,
        sum(case when mrr > 0 then 1 else 0 end) as active_customers,
        sum(mrr) as mrr
    from customer_months
    group by cohort_month, "month", months_since_cohort
)

select
    retained.cohort_month,
    retained."month",
    retained.months_since_cohort,
    cast(cohorts.cohort_customers as bigint) as cohort_customers,
    cast(cohorts.cohort_mrr as bigint) as cohort_mrr,
    cast(retained.active_customers as bigint) as active_customers,
    cast(retained.mrr as bigint) as mrr,
    cast(
        round(100.0 * retained.active_customers / cohorts.cohort_customers, 2) as decimal(9, 2)
    ) as customer_retention_rate,
    case
        when cohorts.cohort_mrr > 0
            then cast(round(100.0 * retained.mrr / cohorts.cohort_mrr, 2) as decimal(12, 2))
    end as net_mrr_retention_rate
from retained
inner join cohorts on cohorts.cohort_month = retained.cohort_month
