-- MRR per plan at every month end: each subscription's MRR (its movements summed) counted on
-- the plan of its latest activity, so a plan change moves the whole subscription.
with movements as (
    select
        *,
        row_number() over (
            partition by customer_uuid, subscription_external_id, activity_month
            order by activity_at desc, activity_uuid desc
        ) as latest_in_month
    from {{ ref('int_chartmogul__mrr_movements') }}
),

by_month as (
    select
        customer_uuid,
        subscription_external_id,
        activity_month as "month",
        sum(mrr_movement) as mrr_change,
        max(case when latest_in_month = 1 then data_source_uuid end) as data_source_uuid,
        max(case when latest_in_month = 1 then plan_external_id end) as plan_external_id
    from movements
    group by customer_uuid, subscription_external_id, activity_month
),

firsts as (
    select customer_uuid, subscription_external_id, min("month") as first_month
    from by_month
    group by customer_uuid, subscription_external_id
),

months as (
    select distinct {{ month_of('day') }} as "month"
    from {{ ref('int_chartmogul__days') }}
),

grid as (
    select
        firsts.customer_uuid,
        firsts.subscription_external_id,
        months."month",
        by_month.data_source_uuid,
        by_month.plan_external_id,
        coalesce(by_month.mrr_change, 0) as mrr_change,
        -- months since the last one with an activity share its number: its plan carries on
        count(by_month."month") over running as plan_run
    from firsts
    inner join months on months."month" >= firsts.first_month
    left join by_month
        on
            by_month.customer_uuid = firsts.customer_uuid
            and by_month.subscription_external_id = firsts.subscription_external_id
            and by_month."month" = months."month"
    window running as (
        partition by firsts.customer_uuid, firsts.subscription_external_id
        order by months."month"
        rows between unbounded preceding and current row
    )
),

subscriptions as (
    select
        customer_uuid,
        "month",
        max(data_source_uuid) over plan_months as data_source_uuid,
        max(plan_external_id) over plan_months as plan_external_id,
        sum(mrr_change) over (
            partition by customer_uuid, subscription_external_id
            order by "month"
            rows between unbounded preceding and current row
        ) as mrr
    from grid
    window plan_months as (partition by customer_uuid, subscription_external_id, plan_run)
)

select
    subscriptions."month",
    subscriptions.data_source_uuid,
    subscriptions.plan_external_id,
    plans."uuid" as plan_uuid,
    plans.name as plan_name,
    cast(sum(subscriptions.mrr) as bigint) as mrr,
    cast(sum(case when subscriptions.mrr > 0 then 1 else 0 end) as bigint) as subscriptions,
    cast(
        count(distinct case when subscriptions.mrr > 0 then subscriptions.customer_uuid end)
        as bigint
    ) as customers
from subscriptions
left join {{ ref('stg_chartmogul__plans') }} as plans
    on
        plans.data_source_uuid = subscriptions.data_source_uuid
        and plans.external_id = subscriptions.plan_external_id
group by
    subscriptions."month",
    subscriptions.data_source_uuid,
    subscriptions.plan_external_id,
    plans."uuid",
    plans.name
