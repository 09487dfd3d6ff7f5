-- The MRR bridge (built from the activities alone) against ChartMogul's own monthly metrics,
-- month by month: closing MRR and every movement, within the reconciliation tolerance. Only
-- months that metrics_mrr has as interval=month rows of segment `all` are compared.
{{ config(severity=var('reconciliation_severity')) }}

with metrics as (
    select *
    from {{ ref('stg_chartmogul__metrics_mrr') }}
    where segment = 'all' and "interval" = 'month'
),

pairs as (
    {%- for bridge, chartmogul in [
        ('closing_mrr', 'mrr'),
        ('mrr_new_business', 'mrr_new_business'),
        ('mrr_expansion', 'mrr_expansion'),
        ('mrr_contraction', 'mrr_contraction'),
        ('mrr_churn', 'mrr_churn'),
        ('mrr_reactivation', 'mrr_reactivation'),
    ] %}
    select
        metrics."date",
        '{{ chartmogul }}' as figure,
        coalesce(bridge.{{ bridge }}, 0) as from_activities,
        metrics.{{ chartmogul }} as chartmogul
    from metrics
    left join {{ ref('mrr_bridge_monthly') }} as bridge
        on bridge."month" = {{ month_of('metrics."date"') }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select *
from pairs
where abs(from_activities - coalesce(chartmogul, 0))
    > {{ var('reconciliation_tolerance_cents') }}
      + {{ var('reconciliation_tolerance_ratio') }} * abs(coalesce(chartmogul, 0))
