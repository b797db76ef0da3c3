-- grain: one row per customer of the population at D = $start_date = $end_date (a step of
-- customer_snapshot, a temp table): every customer's state at D from one aggregate over the counted
-- orders and returns (the same measures range/snapshot_segments.sql derives for a range, and a
-- test checks both give the same rows). Each customer is one segment of one day.
with per_customer as (
    -- counted orders and returns (status `returned`): a return lowers lifetime_value and monetary on
    -- its day but is no order (docs/metrics.md, "Returns")
    select
        customer_id,
        min(ordered_at) filter (is_counted) as first_order_at,
        -- order_date is ordered_at::date (stg_orders), so the days follow from the instants
        first_order_at::date as first_order_date,
        max(ordered_at) filter (is_counted) as last_order_at,
        last_order_at::date as last_order_date,
        count(*) filter (is_counted) as lifetime_orders,
        sum(value) as lifetime_value,
        count(*) filter (is_counted and order_date > $start_date::date - $rfm_window_days) as frequency,
        coalesce(sum(value) filter (order_date > $start_date::date - $rfm_window_days), 0)
        as monetary,
        count(*) filter (is_counted and order_date > $start_date::date - $drop_window_days)
        as orders_recent,
        count(*) filter (
            is_counted
            and order_date <= $start_date::date - $drop_window_days
            and order_date > $start_date::date - $drop_lookback_days
        ) as drop_history_orders
    from stg_orders
    where (is_counted or status = 'returned') and order_date <= $start_date
    group by customer_id
    having count(*) filter (is_counted) > 0
),

-- complaints and previous_day are the same lookups as in range/snapshot_start_state.sql (the
-- state at its first day); tests/test_snapshot_scale.py checks both paths give the same rows
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
    p.customer_id,
    p.first_order_at,
    p.first_order_date,
    prev.flagged_since as previous_flagged_since,
    $start_date::date as from_day,
    $start_date::date as until_day,
    p.last_order_date,
    p.last_order_at,
    p.lifetime_orders,
    p.lifetime_value,
    p.frequency,
    p.monetary,
    p.orders_recent,
    p.drop_history_orders,
    coalesce(c.complaint_count, 0) as complaint_count,
    (p.monetary::decimal(18, 2) * 100)::bigint as monetary_cents
from per_customer as p
left join complaints as c on p.customer_id = c.customer_id
left join previous_day as prev on p.customer_id = prev.customer_id
