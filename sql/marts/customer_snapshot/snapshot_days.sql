-- grain: one row per (as_of, customer_id) of the days computed (a step of customer_snapshot, a
-- temp table): the segment the day belongs to, the measures that change from day to day, and the
-- churn flags (they need no ranks); the constant columns stay in snapshot_segments.
with expanded as (
    select
        s.*,
        s.rowid as segment_id,
        unnest(range(0, s.until_day - s.from_day + 1)) as day_offset
    from snapshot_segments as s
),

measures as (
    select
        * exclude (from_day, until_day, day_offset),
        from_day + day_offset::integer as as_of,
        (as_of - last_order_date)::integer as recency_days,
        (as_of - first_order_date)::integer as tenure_days,
        drop_history_length(as_of, first_order_date, $drop_window_days, $drop_lookback_days)
        as drop_history_days
    from expanded
),

flags as (
    select
        *,
        last_order_date > as_of - $active_days as is_active,
        recency_days > $inactive_days as inactive,
        complaint_count > $complaint_max as complaints,
        activity_drop_flag(
            orders_recent, drop_history_days, drop_history_orders,
            $drop_min_history_days, $drop_min_orders, $drop_ratio, $drop_window_days
        ) as activity_drop,
        inactive or complaints or activity_drop as churn_risk
    from measures
)

select
    segment_id,
    as_of,
    recency_days,
    frequency,
    monetary_cents,
    tenure_days,
    drop_history_days,
    is_active,
    inactive,
    complaints,
    activity_drop,
    churn_risk
from flags
