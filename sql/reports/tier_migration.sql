-- Customers moving from their tier on $previous_day to their tier on $as_of ('new': not in the
-- snapshot before, 'left': not in it after), for the moves from or to one of the tiers $tiers.
with prev as (
    select customer_id, tier from (
        -- customer_snapshot on $previous_day, read from customer_state by constant bounds (the
        -- view's join reads every stored row first: it grows with the history)
        select
            $previous_day::date as as_of,
            *,
            ($previous_day::date - last_order_at::date)::integer as recency_days
        from customer_state
        where
            valid_from <= $previous_day::date
            and coalesce(valid_to, date '9999-12-31') >= $previous_day::date
            and exists (select 1 from snapshot_params where as_of = $previous_day::date)
    ) as d
),

cur as (
    select customer_id, tier from (
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
    ) as d
),

moves as (
    select
        coalesce(prev.tier, 'new') as prev_tier,
        coalesce(cur.tier, 'left') as cur_tier
    from prev
    full outer join cur on prev.customer_id = cur.customer_id
)

select
    prev_tier,
    cur_tier,
    count(*) as customers
from moves
where list_contains($tiers, prev_tier) or list_contains($tiers, cur_tier)
group by all
order by all
