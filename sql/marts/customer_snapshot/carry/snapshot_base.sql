-- grain: one row per customer of the stored day D - 1 = $start_date - 1 (a step of
-- customer_snapshot, a temp table): the counts the night carries forward (carry/snapshot_moved) and
-- the columns that can move at D without a new order or complaint (scores, day-dependent flags,
-- lifecycle stage), which carry/snapshot_affected compares with their values at D.
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
from customer_snapshot
where as_of = $start_date::date - 1
