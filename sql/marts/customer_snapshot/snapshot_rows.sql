-- grain: one row per (as_of, customer_id) for every day as_of in $start_date..$end_date and every
-- customer of that day's population (at least one counted order on or before as_of).
-- The last step of customer_snapshot (loyalty.marts.snapshot runs them, in one transaction, and
-- replaces exactly the days $start_date..$end_date with these rows). Earlier steps, temp tables:
--   snapshot_segments   runs of days over which a customer's counts stay the same, by one of
--     day/snapshot_segments.sql    one day: a single aggregate over the orders;
--     carry/snapshot_segments.sql  one day: the stored day before carried forward;
--     range/snapshot_segments.sql  a range of days, set-based, no per-day loop: the state at the
--                                  first day (snapshot_start_state) plus the orders and complaints
--                                  entering or leaving each window (snapshot_changes);
--   snapshot_days        segments -> one narrow row per day and customer, with the churn flags;
--     for a range, once the values and edges are counted, only the first day of each run of
--     days with the same stored columns (range/snapshot_pieces.sql, snapshot_piece_days.sql).
-- Here: scores (snapshot_values -> snapshot_scores: one row per day, measure and value ->
-- snapshot_thresholds: the edges of each day's scores), tier, segment, flagged_since. How:
-- docs/metrics.md, Performance.
-- flagged_since here assumes the customer was at risk on every day of the range before this one
-- (exact for one day). For a range, state/snapshot_intervals.sql sets it per run of days from the
-- last run without churn_risk (per run of days, not per day: a running max over every
-- customer-day cost a fifth of a first run's snapshot).
with scored as (
    select
        x.*,
        sg.* exclude (frequency, monetary_cents),
        -- 1 plus the edges of the day's scores the value reaches (snapshot_thresholds)
        (
            1 + coalesce((x.recency_days <= th.r2)::integer, 0)
            + coalesce((x.recency_days <= th.r3)::integer, 0)
            + coalesce((x.recency_days <= th.r4)::integer, 0)
            + coalesce((x.recency_days <= th.r5)::integer, 0)
        )::integer as r,
        (
            1 + coalesce((x.frequency >= th.f2)::integer, 0)
            + coalesce((x.frequency >= th.f3)::integer, 0)
            + coalesce((x.frequency >= th.f4)::integer, 0)
            + coalesce((x.frequency >= th.f5)::integer, 0)
        )::integer as f,
        (
            1 + coalesce((x.monetary_cents >= th.m2)::integer, 0)
            + coalesce((x.monetary_cents >= th.m3)::integer, 0)
            + coalesce((x.monetary_cents >= th.m4)::integer, 0)
            + coalesce((x.monetary_cents >= th.m5)::integer, 0)
        )::integer as m
    from snapshot_days as x
    inner join snapshot_segments as sg on x.segment_id = sg.rowid
    inner join snapshot_thresholds as th on x.as_of = th.as_of
),

weighted as (
    select
        *,
        round(
            100 * ($w_r * r + $w_f * f + $w_m * m) / (5 * ($w_r + $w_f + $w_m)), 4
        ) as rfm_score,
        (f + m + 1) // 2 as fm
    from scored
),

segment_map as (
    select unnest($seg_r) as r, unnest($seg_fm) as fm, unnest($seg_name) as segment
),

flagged as (
    select
        w.*,
        case
            when w.rfm_score >= $tier_a then 'A'
            when w.rfm_score >= $tier_b then 'B'
            when w.rfm_score > $tier_c then 'C'
            else 'D'
        end as tier,
        s.segment,
        lifecycle_of(w.tenure_days, $new_max_days, $growing_max_days) as lifecycle_stage
    from weighted as w
    left join segment_map as s on w.r = s.r and w.fm = s.fm
),

final as (
    select
        as_of,
        customer_id,
        first_order_at,
        last_order_at,
        recency_days,
        frequency::integer as frequency,
        monetary,
        r,
        f,
        m,
        rfm_score,
        tier,
        segment,
        lifecycle_stage,
        is_active,
        inactive,
        complaints,
        activity_drop,
        churn_risk,
        case
            when not churn_risk then null
            -- at risk on every day of the range the customer was in: a run that reaches the first
            -- day of the range continues the stored run of the day before
            when first_order_date > $start_date::date then first_order_date
            else coalesce(previous_flagged_since, $start_date::date)
        end as flagged_since,
        nullif(concat_ws(
            ',',
            case when inactive then 'inactive' end,
            case when complaints then 'complaints' end,
            case when activity_drop then 'activity_drop' end
        ), '') as churn_reasons,
        tenure_days,
        fm,
        lifetime_orders::integer as lifetime_orders,
        lifetime_value,
        orders_recent::integer as orders_recent,
        drop_history_days,
        drop_history_orders::integer as drop_history_orders,
        complaint_count::integer as complaint_count
    from flagged
)

select * from final
