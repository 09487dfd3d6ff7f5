-- Each month's MRR per plan and MRR per customer both add up to the bridge's closing MRR:
-- three models built three ways from the same activities.
with bridge as (
    select "month", closing_mrr from {{ ref('mrr_bridge_monthly') }}
),

plans as (
    select "month", sum(mrr) as mrr from {{ ref('plan_mrr_monthly') }} group by "month"
),

customers as (
    select "month", sum(mrr) as mrr from {{ ref('customer_mrr_monthly') }} group by "month"
)

select bridge."month", bridge.closing_mrr, plans.mrr as plan_mrr, customers.mrr as customer_mrr
from bridge
left join plans on plans."month" = bridge."month"
left join customers on customers."month" = bridge."month"
where
    coalesce(plans.mrr, 0) <> bridge.closing_mrr
    or coalesce(customers.mrr, 0) <> bridge.closing_mrr
