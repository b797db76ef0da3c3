-- grain: one row per (customer_id, from_day) run of days in $start_date..$end_date over which the
-- customer's counts stay the same (a step of customer_snapshot for a range of days, a temp
-- table): the state at the first day (snapshot_start_state) plus the changes (snapshot_changes).
with first_change as (
    select customer_id, min(day) as day
    from snapshot_changes
    group by customer_id
),

segments as (
    select
        s.customer_id,
        s.first_order_at,
        s.first_order_date,
        s.previous_flagged_since,
        $start_date::date as from_day,
        coalesce(fc.day - 1, $end_date::date) as until_day,
        s.last_order_date,
        s.last_order_at,
        s.lifetime_orders,
        s.lifetime_value,
        s.frequency,
        s.monetary,
        s.orders_recent,
        s.drop_history_orders,
        s.complaint_count
    from snapshot_start_state as s
    left join first_change as fc on s.customer_id = fc.customer_id
    union all
    select
        s.customer_id,
        s.first_order_at,
        s.first_order_date,
        s.previous_flagged_since,
        c.day,
        c.until_day,
        coalesce(c.last_day, s.last_order_date),
        coalesce(c.last_at, s.last_order_at),
        s.lifetime_orders + c.d_orders,
        s.lifetime_value + c.d_value,
        s.frequency + c.d_frequency,
        s.monetary + c.d_monetary,
        s.orders_recent + c.d_recent,
        s.drop_history_orders + c.d_history,
        s.complaint_count + c.d_complaints
    from snapshot_changes as c
    inner join snapshot_start_state as s on c.customer_id = s.customer_id
)

-- population: from the first counted order on. Money also in whole cents (exact, as monetary has
-- two decimals) so that ranking it hashes 64-bit integers, not 128-bit decimals.
select
    *,
    (monetary::decimal(18, 2) * 100)::bigint as monetary_cents
from segments
where last_order_date is not null
