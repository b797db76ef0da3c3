-- grain: one row per customer computed at D = $start_date (carry/snapshot_affected; a step of
-- customer_snapshot, a temp table, as day/snapshot_segments.sql builds it for the whole
-- population): the customers whose counts moved, with their new counts (carry/snapshot_moved), and
-- the others with the counts of D - 1 (carry/snapshot_base), unchanged.
select * from snapshot_moved
union all
select
    b.customer_id,
    b.first_order_at,
    b.first_order_at::date as first_order_date,
    b.flagged_since as previous_flagged_since,
    $start_date::date as from_day,
    $start_date::date as until_day,
    b.last_order_at::date as last_order_date,
    b.last_order_at,
    b.lifetime_orders,
    b.lifetime_value,
    b.frequency,
    b.monetary,
    b.orders_recent,
    b.drop_history_orders,
    b.complaint_count,
    (b.monetary::decimal(18, 2) * 100)::bigint as monetary_cents
from snapshot_base as b
semi join snapshot_affected as a on b.customer_id = a.customer_id
anti join snapshot_moved as mv on b.customer_id = mv.customer_id
