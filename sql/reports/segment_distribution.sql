-- Customers per RFM segment on day $as_of, for every report segment: each tier of $tiers and
-- $all_key (the customers of every tier of $tiers); within a report segment the largest first.
select
    case when grouping(tier) = 1 then $all_key else tier end as report_segment,
    segment,
    count(*) as customers
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
group by grouping sets ((tier, segment), (segment))
order by report_segment asc, customers desc, segment asc
