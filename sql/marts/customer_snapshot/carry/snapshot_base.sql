-- grain: one row per customer of the stored day D - 1 = $start_date - 1 (a step of
-- customer_snapshot, a temp table): the counts the night carries forward (carry/snapshot_moved) and
-- the columns that can move at D without a new order or complaint (scores, day-dependent flags,
-- lifecycle stage), which carry/snapshot_affected compares with their values at D.
-- Read from customer_state with the day as a constant, not through the customer_snapshot view: the
-- view's join with snapshot_params reads every column of every stored row before it keeps a day's
-- (1.3 s at 10 M orders with a year of history, 50 M rows, against 0.5 s), while a constant filter
-- is applied in the scan to the two date columns first. Only stored columns are read; D - 1 is a
-- stored day (the carry's condition).
select
    customer_id,
    first_order_at,
    last_order_at,
    lifetime_orders,
    lifetime_value,
    frequency,
    monetary,
    orders_recent,
    drop_history_orders,
    complaint_count,
    case when churn_risk then flagged_since end as flagged_since,
    r,
    f,
    m,
    is_active,
    inactive,
    activity_drop,
    lifecycle_stage
from customer_state
where
    valid_from <= $start_date::date - 1
    and coalesce(valid_to, date '9999-12-31') >= $start_date::date - 1
