-- grain: one row per (customer_id, day) on which a customer's counts change after the first day
-- $start_date (a step of customer_snapshot for a range of days, a temp table): an order day enters
-- and later leaves each window, a complaint enters and leaves its window; the counts are running
-- sums from $start_date, valid from `day` to `until_day`. A return (status `returned`) changes only
-- the money (lifetime value, monetary) on its day and when it leaves the RFM window.
with window_orders as (
    select
        customer_id,
        order_date,
        max(ordered_at) filter (is_counted) as last_at,
        count(*) filter (is_counted) as n,
        sum(value) as v
    from stg_orders
    where (is_counted or status = 'returned') and order_date <= $end_date and (
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
    select customer_id, order_date as day, case when n > 0 then order_date end as last_day, last_at,
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
    where n > 0
        and order_date + $drop_window_days > $start_date and order_date + $drop_window_days <= $end_date
    union all
    select customer_id, order_date + $drop_lookback_days, null, null, 0, 0, 0, 0, 0, -n, 0
    from window_orders
    where n > 0
        and order_date + $drop_lookback_days > $start_date
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
    running as (partition by customer_id order by day rows unbounded preceding)
