-- Every customer as it is now: status, MRR, its main plan, subscriptions and tenure.
with subscriptions as (
    select
        customer_uuid,
        plan,
        status,
        row_number() over (
            partition by customer_uuid
            order by case when status = 'active' then 0 else 1 end, mrr desc, plan, "uuid"
        ) as rank_in_customer
    from {{ ref('stg_chartmogul__customer_subscriptions') }}
),

counts as (
    select
        customer_uuid,
        count(*) as subscriptions,
        sum(case when status = 'active' then 1 else 0 end) as active_subscriptions,
        max(case when rank_in_customer = 1 and status = 'active' then plan end) as plan
    from subscriptions
    group by customer_uuid
),

activity as (
    select
        customer_uuid,
        min(activity_date) as first_activity_date,
        max(activity_date) as last_activity_date,
        sum(mrr_movement) as mrr_from_activities
    from {{ ref('int_chartmogul__mrr_movements') }}
    where activity_date <= {{ as_of_date() }}
    group by customer_uuid
),

cohorts as (
    select distinct customer_uuid, cohort_month
    from {{ ref('customer_mrr_monthly') }}
),

as_of as (
    select {{ as_of_date() }} as as_of_date
)

select
    customers."uuid" as customer_uuid,
    customers.name,
    customers.company,
    customers.email,
    customers.country,
    customers.status,
    customers.customer_since,
    customers.mrr,
    customers.arr,
    customers.currency,
    cast(coalesce(activity.mrr_from_activities, 0) as bigint) as mrr_from_activities,
    counts.plan,
    cast(coalesce(counts.active_subscriptions, 0) as bigint) as active_subscriptions,
    cast(coalesce(counts.subscriptions, 0) as bigint) as subscriptions,
    cohorts.cohort_month,
    case
        when customers.customer_since is not null
            then
                {{ months_between(month_of('customers.customer_since'), month_of('as_of.as_of_date')) }}
                - case
                    when extract(day from as_of.as_of_date) < extract(day from customers.customer_since)
                        then 1
                    else 0
                end
    end as tenure_months,
    activity.first_activity_date,
    activity.last_activity_date,
    as_of.as_of_date
from {{ ref('stg_chartmogul__customers') }} as customers
cross join as_of
left join counts on counts.customer_uuid = customers."uuid"
left join activity on activity.customer_uuid = customers."uuid"
left join cohorts on cohorts.customer_uuid = customers."uuid"
