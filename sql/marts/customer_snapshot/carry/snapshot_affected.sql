-- grain: one row per customer_id computed at D = $start_date (a step of customer_snapshot, a temp
-- table): the customers whose counts moved (carry/snapshot_moved), and those whose counts did not
-- but whose scores (the population's values moved under them), day-dependent flags (is_active,
-- inactive, activity_drop) or lifecycle stage differ at D from their stored row of D - 1. Every
-- other customer's row of D equals the stored one, which already covers D (loyalty.marts.snapshot
-- takes this path only when every stored row of D - 1 is still open): nothing to compute or
-- write for them. With $every_customer, every customer (the carry of the whole population).
with kept as (
    select
        b.customer_id,
        b.r,
        b.f,
        b.m,
        b.is_active,
        b.inactive,
        b.activity_drop,
        b.lifecycle_stage,
        b.frequency,
        b.orders_recent,
        b.drop_history_orders,
        $start_date::date - b.last_order_at::date as recency_days,
        $start_date::date - b.first_order_at::date as tenure_days,
        b.first_order_at::date as first_order_date,
        b.last_order_at::date as last_order_date,
        (b.monetary::decimal(18, 2) * 100)::bigint as monetary_cents
    from snapshot_base as b
    anti join snapshot_moved as mv on b.customer_id = mv.customer_id
),

at_day as (
    -- the columns that move with the day alone, as snapshot_days and snapshot_rows compute them
    select
        k.customer_id,
        rs.score <> k.r
        or fs.score <> k.f
        or k.m <> case
            when k.monetary_cents >= th.m5 then 5
            when k.monetary_cents >= th.m4 then 4
            when k.monetary_cents >= th.m3 then 3
            when k.monetary_cents >= th.m2 then 2
            else 1
        end
        or (k.last_order_date > $start_date::date - $active_days) <> k.is_active
        or (k.recency_days > $inactive_days) <> k.inactive
        or activity_drop_flag(
            k.orders_recent,
            drop_history_length(
                $start_date::date, k.first_order_date, $drop_window_days, $drop_lookback_days
            ),
            k.drop_history_orders,
            $drop_min_history_days,
            $drop_min_orders,
            $drop_ratio,
            $drop_window_days
        ) <> k.activity_drop
        or lifecycle_of(k.tenure_days, $new_max_days, $growing_max_days) <> k.lifecycle_stage
        as moves
    -- recency and frequency have few values, each with its score: left joins keep the comparison
    -- out of the join (a comparison inside a hash join's condition is evaluated row by row: seconds
    -- at 10 M orders). Money has nearly a value per customer: it is scored by the day's edges
    -- (snapshot_thresholds, one row), the highest edge reached, which is snapshot_rows' 1 plus the
    -- edges reached (an edge is NULL only when no value reaches its score, nor any higher one)
    from kept as k
    left join snapshot_scores as rs on rs.measure = 'r' and k.recency_days = rs.value
    left join snapshot_scores as fs on fs.measure = 'f' and k.frequency = fs.value
    left join snapshot_thresholds as th on th.as_of = $start_date::date
)

select customer_id from snapshot_moved
union all
select customer_id from at_day
where $every_customer or moves
