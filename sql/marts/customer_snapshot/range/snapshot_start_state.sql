-- grain: one row per customer with a counted order on or before $end_date (a step of
-- customer_snapshot for a range of days, a temp table): everything known at the first day
-- $start_date, from one pass over the orders. Returns (status `returned`) lower lifetime_value and
-- monetary on their day but are no orders.
with counted_orders as (
    select customer_id, order_date, ordered_at, value, is_counted
    from stg_orders
    where (is_counted or status = 'returned') and order_date <= $end_date
),

per_customer as (
    select
        customer_id,
        min(ordered_at) filter (is_counted) as first_order_at,
        -- order_date is ordered_at::date (stg_orders), so the days follow from the instants
        first_order_at::date as first_order_date,
        max(ordered_at) filter (is_counted and order_date <= $start_date) as last_order_at,
        last_order_at::date as last_order_date,
        count(*) filter (is_counted and order_date <= $start_date) as lifetime_orders,
        coalesce(sum(value) filter (order_date <= $start_date), 0) as lifetime_value,
        count(*) filter (
            is_counted and order_date <= $start_date
            and order_date > $start_date::date - $rfm_window_days
        ) as frequency,
        coalesce(sum(value) filter (
            order_date <= $start_date and order_date > $start_date::date - $rfm_window_days
        ), 0) as monetary,
        count(*) filter (
            is_counted and order_date <= $start_date
            and order_date > $start_date::date - $drop_window_days
        ) as orders_recent,
        count(*) filter (is_counted and order_date <= $start_date::date - $drop_window_days)
        - count(*) filter (is_counted and order_date <= $start_date::date - $drop_lookback_days)
        as drop_history_orders
    from counted_orders
    group by customer_id
    having count(*) filter (is_counted) > 0
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
left join previous_day as prev on p.customer_id = prev.customer_id
