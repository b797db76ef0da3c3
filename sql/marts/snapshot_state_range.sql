-- Part of the customer_snapshot computation (see customer_snapshot.sql), for a range of days:
-- builds snapshot_segments from the state at the first day and the changes inside the range.
-- (1) per customer: everything known at the first day of the range, from one pass over the orders
create or replace temp table snapshot_start_state as
with counted_orders as (
    select customer_id, order_date, ordered_at, value
    from stg_orders
    where is_counted and order_date <= $end_date
),

per_customer as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        -- order_date is ordered_at::date (stg_orders), so the days follow from the instants
        first_order_at::date as first_order_date,
        max(ordered_at) filter (order_date <= $start_date) as last_order_at,
        last_order_at::date as last_order_date,
        count(*) filter (order_date <= $start_date) as lifetime_orders,
        coalesce(sum(value) filter (order_date <= $start_date), 0) as lifetime_value,
        count(*) filter (
            order_date <= $start_date and order_date > $start_date::date - $rfm_window_days
        ) as frequency,
        coalesce(sum(value) filter (
            order_date <= $start_date and order_date > $start_date::date - $rfm_window_days
        ), 0) as monetary,
        count(*) filter (
            order_date <= $start_date and order_date > $start_date::date - $drop_window_days
        ) as orders_recent,
        count(*) filter (order_date <= $start_date::date - $drop_window_days)
        - count(*) filter (order_date <= $start_date::date - $drop_lookback_days)
        as drop_history_orders
    from counted_orders
    group by customer_id
),

complaints as (
    select customer_id, count(*) as complaint_count
    from stg_tickets
    where is_complaint
        and opened_date <= $start_date
        and opened_date > $start_date::date - $complaint_window_days
    group by customer_id
),

previous_day as (
    select customer_id, flagged_since
    from customer_snapshot
    where as_of = $start_date::date - 1 and churn_risk
)

select
    p.*,
    coalesce(c.complaint_count, 0) as complaint_count,
    prev.flagged_since as previous_flagged_since
from per_customer as p
left join complaints as c on p.customer_id = c.customer_id
left join previous_day as prev on p.customer_id = prev.customer_id;

-- (2) changes after the first day: an order day enters and later leaves each window
create or replace temp table snapshot_changes as
with window_orders as (
    select customer_id, order_date, max(ordered_at) as last_at, count(*) as n, sum(value) as v
    from stg_orders
    where is_counted and order_date <= $end_date and (
        order_date > $start_date
        or (order_date + $rfm_window_days > $start_date and order_date + $rfm_window_days <= $end_date)
        or (order_date + $drop_window_days > $start_date and order_date + $drop_window_days <= $end_date)
        or (order_date + $drop_lookback_days > $start_date and order_date + $drop_lookback_days <= $end_date)
    )
    group by customer_id, order_date
),

complaint_days as (
    select customer_id, opened_date, count(*) as k
    from stg_tickets
    where is_complaint and opened_date <= $end_date and (
        opened_date > $start_date
        or (opened_date + $complaint_window_days > $start_date
            and opened_date + $complaint_window_days <= $end_date)
    )
    group by customer_id, opened_date
),

events as (
    select customer_id, order_date as day, order_date as last_day, last_at,
        n as d_orders, v as d_value, n as d_frequency, v as d_monetary, n as d_recent,
        0 as d_history, 0 as d_complaints
    from window_orders where order_date > $start_date
    union all
    select customer_id, order_date + $rfm_window_days, null, null, 0, 0, -n, -v, 0, 0, 0
    from window_orders
    where order_date + $rfm_window_days > $start_date and order_date + $rfm_window_days <= $end_date
    union all
    select customer_id, order_date + $drop_window_days, null, null, 0, 0, 0, 0, -n, n, 0
    from window_orders
    where order_date + $drop_window_days > $start_date and order_date + $drop_window_days <= $end_date
    union all
    select customer_id, order_date + $drop_lookback_days, null, null, 0, 0, 0, 0, 0, -n, 0
    from window_orders
    where order_date + $drop_lookback_days > $start_date
        and order_date + $drop_lookback_days <= $end_date
    union all
    select customer_id, opened_date, null, null, 0, 0, 0, 0, 0, 0, k
    from complaint_days where opened_date > $start_date
    union all
    select customer_id, opened_date + $complaint_window_days, null, null, 0, 0, 0, 0, 0, 0, -k
    from complaint_days
    where opened_date + $complaint_window_days > $start_date
        and opened_date + $complaint_window_days <= $end_date
),

per_day as (
    select
        customer_id, day,
        max(last_day) as last_day, max(last_at) as last_at,
        sum(d_orders) as d_orders, sum(d_value) as d_value,
        sum(d_frequency) as d_frequency, sum(d_monetary) as d_monetary,
        sum(d_recent) as d_recent, sum(d_history) as d_history, sum(d_complaints) as d_complaints
    from events
    group by customer_id, day
)

select
    customer_id,
    day,
    coalesce(lead(day) over w - 1, $end_date::date) as until_day,
    max(last_day) over running as last_day,
    max(last_at) over running as last_at,
    sum(d_orders) over running as d_orders,
    sum(d_value) over running as d_value,
    sum(d_frequency) over running as d_frequency,
    sum(d_monetary) over running as d_monetary,
    sum(d_recent) over running as d_recent,
    sum(d_history) over running as d_history,
    sum(d_complaints) over running as d_complaints
from per_day
window
    w as (partition by customer_id order by day),
    running as (partition by customer_id order by day rows unbounded preceding);

-- (3) segments: runs of days over which a customer's counts stay the same
create or replace temp table snapshot_segments as
with first_change as (
    select customer_id, min(day) as day, bool_or(last_day is not null) as orders_in_range
    from snapshot_changes
    group by customer_id
),

segments as (
    select
        s.customer_id,
        s.rowid as customer_key,  -- a compact key for the per-day rows
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
        s.complaint_count,
        -- only a customer with some day that is not `inactive` can have a day without churn_risk
        s.last_order_date >= $start_date::date - $inactive_days
        or coalesce(fc.orders_in_range, false) as may_clear
    from snapshot_start_state as s
    left join first_change as fc on s.customer_id = fc.customer_id
    union all
    select
        s.customer_id,
        s.rowid as customer_key,  -- a compact key for the per-day rows
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
        s.complaint_count + c.d_complaints,
        s.last_order_date >= $start_date::date - $inactive_days or fc.orders_in_range
    from snapshot_changes as c
    inner join snapshot_start_state as s on c.customer_id = s.customer_id
    inner join first_change as fc on c.customer_id = fc.customer_id
),

-- population: from the first counted order on. Money also in whole cents (exact, as monetary has
-- two decimals) so that ranking it hashes 64-bit integers, not 128-bit decimals.
select
    *,
    (monetary * 100)::bigint as monetary_cents
from segments
where last_order_date is not null;
