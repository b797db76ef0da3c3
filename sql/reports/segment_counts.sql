-- Every report segment's customers on day $as_of, one row per segment: each tier of $tiers and
-- $all_key (the customers of every tier of $tiers): counts, value, average score and the customers
-- behind each churn flag. A tier without customers has no row.
select
    case when grouping(tier) = 1 then $all_key else tier end as report_segment,
    count(*) as customers,
    count(*) filter (where is_active) as active_customers,
    count(*) filter (where churn_risk) as at_risk_customers,
    coalesce(sum(monetary), 0)::double as monetary_total,
    avg(rfm_score) as avg_score,
    count(*) filter (where inactive) as inactive,
    count(*) filter (where complaints) as complaints,
    count(*) filter (where activity_drop) as activity_drop
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
group by grouping sets ((tier), ())
order by report_segment
