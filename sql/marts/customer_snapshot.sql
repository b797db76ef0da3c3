-- grain: one row per (as_of, customer_id) for every day as_of in $start_date..$end_date and every
-- customer of that day's population (at least one counted order on or before as_of).
-- The whole range is computed by one set-based query (days x customers, no per-day loop). The
-- asset runs this file inside one transaction, so a re-run replaces exactly these days.
-- Running counts per customer are looked up with ASOF joins ("the latest running total on or
-- before day X"), so a window (X, as_of] costs two look-ups instead of a range join over orders.
create table if not exists customer_snapshot (
    as_of               date not null,
    customer_id         varchar not null,
    first_order_at      timestamp not null,   -- first counted order ever
    last_order_at       timestamp not null,   -- last counted order on or before as_of
    recency_days        integer not null,     -- as_of - date of last_order_at
    frequency           integer not null,     -- counted orders in (as_of - rfm_window_days, as_of]
    monetary            decimal(38, 2) not null,  -- their summed value (amount - refund_amount)
    r                   integer not null,
    f                   integer not null,
    m                   integer not null,
    rfm_score           double not null,      -- 0..100, weighted mean of r, f, m
    tier                varchar not null,     -- A | B | C | D
    segment             varchar not null,     -- from the segment map over (r, fm)
    lifecycle_stage     varchar not null,     -- new | growing | mature
    is_active           boolean not null,     -- counted order in (as_of - active_days, as_of]
    inactive            boolean not null,     -- churn flag: recency_days > inactive_days
    complaints          boolean not null,     -- churn flag: complaint_count > complaint_max
    activity_drop       boolean not null,     -- churn flag: recent orders fell below their own rate
    churn_risk          boolean not null,     -- any churn flag
    flagged_since       date,                 -- first day of the current run of churn_risk days
    churn_reasons       varchar,              -- the flags that are set, comma separated
    tenure_days         integer not null,     -- as_of - date of first_order_at
    fm                  integer not null,     -- floor((f + m + 1) / 2), the segment map's axis
    lifetime_orders     integer not null,     -- counted orders on or before as_of
    lifetime_value      decimal(38, 2) not null,
    orders_recent       integer not null,     -- counted orders in (as_of - drop_window_days, as_of]
    drop_history_days   integer not null,     -- length of the activity_drop history window
    drop_history_orders integer not null,     -- counted orders in that window
    complaint_count     integer not null      -- complaint tickets opened in the complaint window
);

delete from customer_snapshot where as_of between $start_date and $end_date;

insert into customer_snapshot by name
with days as (
    select range::date as as_of
    from range($start_date::date, $end_date::date + 1, interval 1 day)
),

counted_orders as (
    select * from stg_orders where is_counted and order_date <= $end_date
),

first_orders as (
    select customer_id, min(ordered_at) as first_order_at, min(order_date) as first_order_date
    from counted_orders
    group by customer_id
),

-- one row per (customer, day with counted orders) with running totals up to that day
order_days as (
    select
        customer_id,
        order_date,
        max(ordered_at) as last_at,
        sum(count(*)) over running as cum_orders,
        sum(sum(value)) over running as cum_value
    from counted_orders
    group by customer_id, order_date
    window running as (partition by customer_id order by order_date rows unbounded preceding)
),

complaint_days as (
    select
        customer_id,
        opened_date,
        sum(count(*)) over (
            partition by customer_id order by opened_date rows unbounded preceding
        ) as cum_complaints
    from stg_tickets
    where is_complaint and opened_date <= $end_date
    group by customer_id, opened_date
),

population as (
    select d.as_of, f.customer_id, f.first_order_at, f.first_order_date
    from days as d
    inner join first_orders as f on f.first_order_date <= d.as_of
),

-- running totals at as_of and at the left edge of each window (exclusive)
looked_up as (
    select
        p.*,
        upto_now.last_at as last_order_at,
        upto_now.order_date as last_order_date,
        upto_now.cum_orders as lifetime_orders,
        upto_now.cum_value as lifetime_value,
        upto_now.cum_orders - coalesce(before_rfm.cum_orders, 0) as frequency,
        upto_now.cum_value - coalesce(before_rfm.cum_value, 0) as monetary,
        upto_now.cum_orders - coalesce(before_recent.cum_orders, 0) as orders_recent,
        coalesce(before_recent.cum_orders, 0)
        - coalesce(before_history.cum_orders, 0) as drop_history_orders,
        coalesce(complaints_now.cum_complaints, 0)
        - coalesce(complaints_before.cum_complaints, 0) as complaint_count
    from population as p
    asof inner join order_days as upto_now
        on p.customer_id = upto_now.customer_id
        and p.as_of >= upto_now.order_date
    asof left join order_days as before_rfm
        on p.customer_id = before_rfm.customer_id
        and p.as_of - $rfm_window_days >= before_rfm.order_date
    asof left join order_days as before_recent
        on p.customer_id = before_recent.customer_id
        and p.as_of - $drop_window_days >= before_recent.order_date
    asof left join order_days as before_history
        on p.customer_id = before_history.customer_id
        and p.as_of - $drop_lookback_days >= before_history.order_date
    asof left join complaint_days as complaints_now
        on p.customer_id = complaints_now.customer_id
        and p.as_of >= complaints_now.opened_date
    asof left join complaint_days as complaints_before
        on p.customer_id = complaints_before.customer_id
        and p.as_of - $complaint_window_days >= complaints_before.opened_date
),

measures as (
    select
        *,
        (as_of - last_order_date)::integer as recency_days,
        (as_of - first_order_date)::integer as tenure_days,
        -- activity_drop history: (max(as_of - lookback, day before first order), as_of - window]
        (
            (as_of - $drop_window_days)
            - greatest(as_of - $drop_lookback_days, first_order_date - 1)
        )::integer as drop_history_days
    from looked_up
),

scored as (
    select
        *,
        case
            when $use_bins then 5 - (
                (recency_days >= $r_edges[1])::integer
                + (recency_days >= $r_edges[2])::integer
                + (recency_days >= $r_edges[3])::integer
                + (recency_days >= $r_edges[4])::integer
            )
            else least(5, 1 + floor(5 * percent_rank() over (
                partition by as_of order by recency_days desc
            )))
        end::integer as r,
        case
            when $use_bins then 1 + (
                (frequency >= $f_edges[1])::integer
                + (frequency >= $f_edges[2])::integer
                + (frequency >= $f_edges[3])::integer
                + (frequency >= $f_edges[4])::integer
            )
            else least(5, 1 + floor(5 * percent_rank() over (
                partition by as_of order by frequency
            )))
        end::integer as f,
        case
            when $use_bins then 1 + (
                (monetary >= $m_edges[1])::integer
                + (monetary >= $m_edges[2])::integer
                + (monetary >= $m_edges[3])::integer
                + (monetary >= $m_edges[4])::integer
            )
            else least(5, 1 + floor(5 * percent_rank() over (
                partition by as_of order by monetary
            )))
        end::integer as m
    from measures
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
        case
            when w.tenure_days <= $new_max_days then 'new'
            when w.tenure_days <= $growing_max_days then 'growing'
            else 'mature'
        end as lifecycle_stage,
        w.last_order_date > w.as_of - $active_days as is_active,
        w.recency_days > $inactive_days as inactive,
        w.complaint_count > $complaint_max as complaints,
        w.drop_history_days >= $drop_min_history_days
        and w.drop_history_orders >= $drop_min_orders
        -- orders_recent < ratio * (history orders per window): cross-multiplied, no division
        and w.orders_recent * w.drop_history_days
        < $drop_ratio * w.drop_history_orders * $drop_window_days as activity_drop
    from weighted as w
    left join segment_map as s on w.r = s.r and w.fm = s.fm
),

islands as (
    select
        *,
        inactive or complaints or activity_drop as churn_risk,
        -- consecutive churn_risk days share (as_of - their row number): gaps-and-islands
        as_of - (row_number() over (
            partition by customer_id, inactive or complaints or activity_drop order by as_of
        ))::integer as island
    from flagged
),

runs as (
    select
        *,
        min(as_of) over (partition by customer_id, churn_risk, island) as run_start
    from islands
),

-- a run that reaches the first day of the range continues the stored run of the day before
previous_day as (
    select customer_id, flagged_since
    from customer_snapshot
    where as_of = $start_date::date - 1 and churn_risk
),

final as (
    select
        runs.as_of,
        runs.customer_id,
        runs.first_order_at,
        runs.last_order_at,
        runs.recency_days,
        runs.frequency::integer as frequency,
        runs.monetary,
        runs.r,
        runs.f,
        runs.m,
        runs.rfm_score,
        runs.tier,
        runs.segment,
        runs.lifecycle_stage,
        runs.is_active,
        runs.inactive,
        runs.complaints,
        runs.activity_drop,
        runs.churn_risk,
        case
            when not runs.churn_risk then null
            when runs.run_start = $start_date::date
                then coalesce(previous_day.flagged_since, runs.run_start)
            else runs.run_start
        end as flagged_since,
        nullif(concat_ws(
            ',',
            case when runs.inactive then 'inactive' end,
            case when runs.complaints then 'complaints' end,
            case when runs.activity_drop then 'activity_drop' end
        ), '') as churn_reasons,
        runs.tenure_days,
        runs.fm,
        runs.lifetime_orders::integer as lifetime_orders,
        runs.lifetime_value,
        runs.orders_recent::integer as orders_recent,
        runs.drop_history_days,
        runs.drop_history_orders::integer as drop_history_orders,
        runs.complaint_count::integer as complaint_count
    from runs
    left join previous_day on runs.customer_id = previous_day.customer_id
)

select * from final;
