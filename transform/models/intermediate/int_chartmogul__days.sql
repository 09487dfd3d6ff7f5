-- One row per day from the first activity (or the first metric period) to the as-of date.
with bounds as (
    select
        least(
            (select min(activity_date) from {{ ref('int_chartmogul__mrr_movements') }}),
            (
                select cast(date_trunc('year', min("date")) as date)
                from {{ ref('stg_chartmogul__metrics_mrr') }}
            )
        ) as first_day,
        {{ as_of_date() }} as last_day
)

select cast(series.day as date) as day
from
    bounds,
    generate_series(
        cast(bounds.first_day as timestamp),
        cast(bounds.last_day as timestamp),
        interval '1 day'
    ) as series (day)
