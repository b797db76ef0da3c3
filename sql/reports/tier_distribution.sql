-- Customers and their value per tier on day $as_of.
select
    tier,
    count(*) as customers,
    sum(monetary)::double as monetary
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
group by tier
order by tier
