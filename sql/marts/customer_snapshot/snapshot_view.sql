-- grain: customer_snapshot, a view with one row per (as_of, customer_id) for every stored day
-- (snapshot_params) over customer_state (schema.sql: one row per customer and interval of days
-- with unchanged stored columns); the columns that move with the day are derived from as_of.
-- the columns and meaning of the former daily table
create or replace view customer_snapshot as
select
    p.as_of,
    s.customer_id,
    s.first_order_at,
    s.last_order_at,
    (p.as_of - s.last_order_at::date)::integer as recency_days,   -- as_of - date of last_order_at
    s.frequency,
    s.monetary,
    s.r,
    s.f,
    s.m,
    s.rfm_score,
    s.tier,
    s.segment,
    s.lifecycle_stage,
    s.is_active,
    s.inactive,
    s.complaints,
    s.activity_drop,
    s.churn_risk,
    s.flagged_since,
    s.churn_reasons,
    (p.as_of - s.first_order_at::date)::integer as tenure_days,   -- as_of - date of first_order_at
    s.fm,
    s.lifetime_orders,
    s.lifetime_value,
    s.orders_recent,
    -- length of the activity_drop history window that day:
    -- (max(as_of - lookback, day before first order), as_of - window]
    (
        (p.as_of - p.drop_window_days)
        - greatest(p.as_of - p.drop_lookback_days, s.first_order_at::date - 1)
    )::integer as drop_history_days,
    s.drop_history_orders,
    s.complaint_count
from (
    select
        as_of,
        (params_json ->> '$.churn.drop_window_days')::integer as drop_window_days,
        (params_json ->> '$.churn.drop_lookback_days')::integer as drop_lookback_days
    from snapshot_params
) as p
inner join customer_state as s
    on p.as_of >= s.valid_from and p.as_of <= coalesce(s.valid_to, date '9999-12-31');
