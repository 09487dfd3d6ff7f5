-- Every dated MRR movement (activity), with its UTC day and month.
select
    "uuid" as activity_uuid,
    customer_uuid,
    "type" as activity_type,
    activity_mrr_movement as mrr_movement,
    "date" as activity_at,
    cast("date" as date) as activity_date,
    {{ month_of('"date"') }} as activity_month,
    coalesce(subscription_external_id, '') as subscription_external_id,
    plan_external_id,
    billing_connector_uuid as data_source_uuid
from {{ ref('stg_chartmogul__activities') }}
where "date" is not null
