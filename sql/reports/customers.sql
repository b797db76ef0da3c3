-- Every customer of the segment (tiers $tiers) on day $as_of, by value (then id), with the
-- Customers sheet's columns in order; at most $row_limit rows (NULL: all, for the CSV).
-- Tags (lifecycle stage, active, churn reasons, churn_risk) are joined here, so no row needs
-- Python work.
select
    customer_id::varchar as customer_id,
    last_order_at::date as last_order,
    recency_days,
    frequency,
    monetary::double as monetary,
    r,
    f,
    m,
    rfm_score,
    tier,
    segment,
    lifecycle_stage,
    concat_ws(
        ', ',
        lifecycle_stage,
        case when is_active then 'active' end,
        case when inactive then 'inactive' end,
        case when complaints then 'complaints' end,
        case when activity_drop then 'activity_drop' end,
        case when churn_risk then 'churn_risk' end
    ) as tags
from (
    -- customer_snapshot on $as_of, read from customer_state by constant bounds (the
    -- view's join reads every stored row first: it grows with the history)
    select
        $as_of::date as as_of,
        *,
        ($as_of::date - last_order_at::date)::integer as recency_days
    from customer_state
    where
        valid_from <= $as_of::date
        and coalesce(valid_to, date '9999-12-31') >= $as_of::date
        and exists (select 1 from snapshot_params where as_of = $as_of::date)
) as s
where list_contains($tiers, tier)
order by monetary desc, customer_id asc
limit $row_limit
