-- grain: one row per (as_of, customer_id) for every day as_of in $start_date..$end_date and every
-- customer of that day's population (at least one counted order on or before as_of).
-- The whole range is computed by one set-based query (days x customers, no per-day loop). The
-- asset runs this file inside one transaction, so a re-run replaces exactly these days.
-- How (docs/metrics.md, Performance): (1) one aggregate over the orders gives every customer's
-- counts as of the first day; (2) inside the range a count changes only on a day an order or
-- complaint enters or leaves a window, so those few changes are running-summed per customer into
-- segments (runs of days with the same counts); (3) segments are expanded to days; (4) ranks are
-- counted per (day, value) instead of sorting every customer; flagged_since needs a running max
-- only for customers who have a day without churn_risk. Temporary tables are dropped at the end.
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

-- (1) per customer: everything known at the first day of the range, from one pass over the orders
create or replace temp table snapshot_start_state as
with counted_orders as (
    select customer_id, order_date, ordered_at, value
    from stg_orders
    where is_counted and order_date <= $end_date
),

per_customer as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        -- order_date is ordered_at::date (stg_orders), so the days follow from the instants
        first_order_at::date as first_order_date,
        max(ordered_at) filter (order_date <= $start_date) as last_order_at,
        last_order_at::date as last_order_date,
        count(*) filter (order_date <= $start_date) as lifetime_orders,
        coalesce(sum(value) filter (order_date <= $start_date), 0) as lifetime_value,
        count(*) filter (
            order_date <= $start_date and order_date > $start_date::date - $rfm_window_days
        ) as frequency,
        coalesce(sum(value) filter (
            order_date <= $start_date and order_date > $start_date::date - $rfm_window_days
        ), 0) as monetary,
        count(*) filter (
            order_date <= $start_date and order_date > $start_date::date - $drop_window_days
        ) as orders_recent,
        count(*) filter (order_date <= $start_date::date - $drop_window_days)
        - count(*) filter (order_date <= $start_date::date - $drop_lookback_days)
        as drop_history_orders
    from counted_orders
    group by customer_id
),

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
    p.*,
    coalesce(c.complaint_count, 0) as complaint_count,
    prev.flagged_since as previous_flagged_since
from per_customer as p
left join complaints as c on p.customer_id = c.customer_id
left join previous_day as prev on p.customer_id = prev.customer_id;

-- (2) changes after the first day: an order day enters and later leaves each window
create or replace temp table snapshot_changes as
with window_orders as (
    select customer_id, order_date, max(ordered_at) as last_at, count(*) as n, sum(value) as v
    from stg_orders
    where is_counted and order_date <= $end_date and (
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
    select customer_id, order_date as day, order_date as last_day, last_at,
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
    where order_date + $drop_window_days > $start_date and order_date + $drop_window_days <= $end_date
    union all
    select customer_id, order_date + $drop_lookback_days, null, null, 0, 0, 0, 0, 0, -n, 0
    from window_orders
    where order_date + $drop_lookback_days > $start_date
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
    running as (partition by customer_id order by day rows unbounded preceding);

-- (3) segments: runs of days over which a customer's counts stay the same
create or replace temp table snapshot_segments as
with first_change as (
    select customer_id, min(day) as day, bool_or(last_day is not null) as orders_in_range
    from snapshot_changes
    group by customer_id
),

segments as (
    select
        s.customer_id,
        s.rowid as customer_key,  -- a compact key for the per-day rows
        s.first_order_at,
        s.first_order_date,
        s.previous_flagged_since,
        $start_date::date as from_day,
        coalesce(fc.day - 1, $end_date::date) as until_day,
        s.last_order_date,
        s.last_order_at,
        s.lifetime_orders,
        s.lifetime_value,
        s.frequency,
        s.monetary,
        s.orders_recent,
        s.drop_history_orders,
        s.complaint_count,
        -- only a customer with some day that is not `inactive` can have a day without churn_risk
        s.last_order_date >= $start_date::date - $inactive_days
        or coalesce(fc.orders_in_range, false) as may_clear
    from snapshot_start_state as s
    left join first_change as fc on s.customer_id = fc.customer_id
    union all
    select
        s.customer_id,
        s.rowid as customer_key,  -- a compact key for the per-day rows
        s.first_order_at,
        s.first_order_date,
        s.previous_flagged_since,
        c.day,
        c.until_day,
        coalesce(c.last_day, s.last_order_date),
        coalesce(c.last_at, s.last_order_at),
        s.lifetime_orders + c.d_orders,
        s.lifetime_value + c.d_value,
        s.frequency + c.d_frequency,
        s.monetary + c.d_monetary,
        s.orders_recent + c.d_recent,
        s.drop_history_orders + c.d_history,
        s.complaint_count + c.d_complaints,
        s.last_order_date >= $start_date::date - $inactive_days or fc.orders_in_range
    from snapshot_changes as c
    inner join snapshot_start_state as s on c.customer_id = s.customer_id
    inner join first_change as fc on c.customer_id = fc.customer_id
),

-- population: from the first counted order on. Money also in whole cents (exact, as monetary has
-- two decimals) so that ranking it hashes 64-bit integers, not 128-bit decimals.
select
    *,
    (monetary * 100)::bigint as monetary_cents
from segments
where last_order_date is not null;

-- (4) one narrow row per (day, customer): the segment it belongs to, the measures that change from
-- day to day, and the churn flags (they need no ranks); the constant columns stay in the segment
create or replace temp table snapshot_days as
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
        -- activity_drop history: (max(as_of - lookback, day before first order), as_of - window]
        (
            (as_of - $drop_window_days)
            - greatest(as_of - $drop_lookback_days, first_order_date - 1)
        )::integer as drop_history_days
    from expanded
),

flags as (
    select
        *,
        last_order_date > as_of - $active_days as is_active,
        recency_days > $inactive_days as inactive,
        complaint_count > $complaint_max as complaints,
        drop_history_days >= $drop_min_history_days
        and drop_history_orders >= $drop_min_orders
        -- orders_recent < ratio * (history orders per window): cross-multiplied, no division
        and orders_recent * drop_history_days
        < $drop_ratio * drop_history_orders * $drop_window_days as activity_drop,
        inactive or complaints or activity_drop as churn_risk
    from measures
)

select
    segment_id,
    customer_key,
    may_clear,
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
from flags;

-- (5) flagged_since: the current run of churn_risk days starts the day after the last day without
-- it. Only customers with such a day in the range need the running max (narrow rows, one sort).
create or replace temp table snapshot_last_clear as
with running as (
    select
        customer_key,
        as_of,
        churn_risk,
        max(case when not churn_risk then as_of end) over (
            partition by customer_key order by as_of rows unbounded preceding
        ) as last_clear_day
    from snapshot_days
    where may_clear
)

select customer_key, as_of, last_clear_day
from running
where churn_risk and last_clear_day is not null;

-- (6) scores, tier, segment, flagged_since
insert into customer_snapshot by name
-- percent_rank = (rank - 1) / (population - 1) with rank = 1 + customers ranked below; counted
-- over one row per (day, value) instead of sorting every customer (values tie a lot)
with recency_ranks as (
    select
        as_of,
        recency_days,
        least(5, 1 + floor(5 * case
            when population > 1 then (below::double) / (population - 1)::double else 0
        end))::integer as pct_score
    from (
        select
            as_of,
            recency_days,
            sum(customers) over (partition by as_of order by recency_days desc
                rows between unbounded preceding and 1 preceding) as below_or_null,
            coalesce(below_or_null, 0) as below,
            sum(customers) over (partition by as_of) as population
        from (select as_of, recency_days, count(*) as customers from snapshot_days group by all)
    )
),

frequency_ranks as (
    select
        as_of,
        frequency,
        least(5, 1 + floor(5 * case
            when population > 1 then (below::double) / (population - 1)::double else 0
        end))::integer as pct_score
    from (
        select
            as_of,
            frequency,
            coalesce(sum(customers) over (partition by as_of order by frequency
                rows between unbounded preceding and 1 preceding), 0) as below,
            sum(customers) over (partition by as_of) as population
        from (select as_of, frequency, count(*) as customers from snapshot_days group by all)
    )
),

monetary_ranks as (
    select
        as_of,
        monetary_cents,
        least(5, 1 + floor(5 * case
            when population > 1 then (below::double) / (population - 1)::double else 0
        end))::integer as pct_score
    from (
        select
            as_of,
            monetary_cents,
            coalesce(sum(customers) over (partition by as_of order by monetary_cents
                rows between unbounded preceding and 1 preceding), 0) as below,
            sum(customers) over (partition by as_of) as population
        from (select as_of, monetary_cents, count(*) as customers from snapshot_days group by all)
    )
),

scored as (
    select
        x.*,
        sg.* exclude (customer_key, may_clear, frequency, monetary_cents),
        case
            when $use_bins then 5 - (
                (x.recency_days >= $r_edges[1])::integer
                + (x.recency_days >= $r_edges[2])::integer
                + (x.recency_days >= $r_edges[3])::integer
                + (x.recency_days >= $r_edges[4])::integer
            )
            else rr.pct_score
        end::integer as r,
        case
            when $use_bins then 1 + (
                (x.frequency >= $f_edges[1])::integer
                + (x.frequency >= $f_edges[2])::integer
                + (x.frequency >= $f_edges[3])::integer
                + (x.frequency >= $f_edges[4])::integer
            )
            else fr.pct_score
        end::integer as f,
        case
            when $use_bins then 1 + (
                (sg.monetary >= $m_edges[1])::integer
                + (sg.monetary >= $m_edges[2])::integer
                + (sg.monetary >= $m_edges[3])::integer
                + (sg.monetary >= $m_edges[4])::integer
            )
            else mr.pct_score
        end::integer as m
    from snapshot_days as x
    inner join snapshot_segments as sg on x.segment_id = sg.rowid
    inner join recency_ranks as rr on x.as_of = rr.as_of and x.recency_days = rr.recency_days
    inner join frequency_ranks as fr on x.as_of = fr.as_of and x.frequency = fr.frequency
    inner join monetary_ranks as mr
        on x.as_of = mr.as_of and x.monetary_cents = mr.monetary_cents
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
        lc.last_clear_day
    from weighted as w
    left join segment_map as s on w.r = s.r and w.fm = s.fm
    left join snapshot_last_clear as lc
        on w.customer_key = lc.customer_key and w.as_of = lc.as_of
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
            when last_clear_day is not null then last_clear_day + 1
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

select * from final;

drop table snapshot_start_state;

drop table snapshot_segments;

drop table snapshot_changes;


drop table snapshot_days;

drop table snapshot_last_clear;
