-- grain: one row per customer of the population at D = $start_date = $end_date whose counts move
-- at D (a step of customer_snapshot, a temp table), when the day before is stored and still valid
-- (loyalty.marts.snapshot checks: the same thresholds, and no order or ticket dated on or before it
-- loaded or replaced since): their stored state of D - 1 (carry/snapshot_base) carried forward by
-- the orders and complaints of the few days that enter or leave a window at D, so the nightly run
-- reads one stored day plus those days' orders, not the whole history. Each window (a, b] moves by
-- one day:
--   lifetime, frequency, recent, complaints: + day D;  frequency: - day D - rfm_window_days;
--   recent: - day D - drop_window_days, which joins the activity-drop history;
--   activity-drop history: - day D - drop_lookback_days.
-- A customer whose first counted order is on D joins the population with that day's counts (and
-- the returns dated before it). Returns (status `returned`) move only the money: lifetime value
-- + day D, monetary + day D - day D - rfm_window_days. Every other customer keeps the counts of
-- D - 1 (carry/snapshot_segments.sql).
with day_orders as (
    -- each range is a separate scan so that the ordered_at zone maps skip the rest of the history
    select customer_id, 'today' as role, ordered_at, value, is_counted
    from stg_orders
    where (is_counted or status = 'returned')
        and ordered_at >= $start_date::date::timestamp
        and ordered_at < ($start_date::date + 1)::timestamp
    union all
    select customer_id, 'leaves_rfm', ordered_at, value, is_counted
    from stg_orders
    where (is_counted or status = 'returned')
        and ordered_at >= ($start_date::date - $rfm_window_days)::timestamp
        and ordered_at < ($start_date::date - $rfm_window_days + 1)::timestamp
    union all
    select customer_id, 'leaves_recent', ordered_at, value, is_counted
    from stg_orders
    where is_counted
        and ordered_at >= ($start_date::date - $drop_window_days)::timestamp
        and ordered_at < ($start_date::date - $drop_window_days + 1)::timestamp
    union all
    select customer_id, 'leaves_history', ordered_at, value, is_counted
    from stg_orders
    where is_counted
        and ordered_at >= ($start_date::date - $drop_lookback_days)::timestamp
        and ordered_at < ($start_date::date - $drop_lookback_days + 1)::timestamp
),

order_changes as (
    select
        customer_id,
        min(ordered_at) filter (role = 'today' and is_counted) as first_at,
        max(ordered_at) filter (role = 'today' and is_counted) as last_at,
        count(*) filter (role = 'today' and is_counted) as n_today,
        coalesce(sum(value) filter (role = 'today'), 0) as v_today,
        count(*) filter (role = 'leaves_rfm' and is_counted) as n_leaves_rfm,
        coalesce(sum(value) filter (role = 'leaves_rfm'), 0) as v_leaves_rfm,
        count(*) filter (role = 'leaves_recent') as n_leaves_recent,
        count(*) filter (role = 'leaves_history') as n_leaves_history
    from day_orders
    group by customer_id
),

complaint_changes as (
    select
        customer_id,
        count(*) filter (opened_date = $start_date::date)
        - count(*) filter (opened_date = $start_date::date - $complaint_window_days) as d_complaints
    -- the two days as two scans bounded on opened_at, which the zone maps prune (the day of
    -- opened_at alone is computed per row: every ticket read, 0.06-0.11 s at 8 M tickets)
    from (
        select customer_id, opened_date
        from stg_tickets
        where is_complaint
            and opened_at >= $start_date::date::timestamp
            and opened_at < ($start_date::date + 1)::timestamp
        union all
        select customer_id, opened_date
        from stg_tickets
        where is_complaint
            and opened_at >= ($start_date::date - $complaint_window_days)::timestamp
            and opened_at < ($start_date::date - $complaint_window_days + 1)::timestamp
    ) as t
    group by customer_id
),

-- the few customers with an order or complaint entering or leaving a window; the stored
-- population is probed by them (a join that keeps every stored row and filters afterwards builds
-- its hash table over the whole population: 0.4 s of a night at 10 M orders)
touched as (
    select customer_id from order_changes
    union
    select customer_id from complaint_changes
),

previous as (
    select b.*
    from snapshot_base as b
    semi join touched as t on b.customer_id = t.customer_id
),

-- customers whose first counted order is on D: their complaints in the window so far
newcomers as (
    select oc.customer_id
    from order_changes as oc
    anti join previous as p on oc.customer_id = p.customer_id
    where oc.n_today > 0
),

newcomer_complaints as (
    select t.customer_id, count(*) as complaint_count
    from stg_tickets as t
    semi join newcomers as n on t.customer_id = n.customer_id
    -- the window's days, bounded on opened_at (as complaint_changes)
    where t.is_complaint
        and t.opened_at < ($start_date::date + 1)::timestamp
        and t.opened_at >= ($start_date::date - $complaint_window_days + 1)::timestamp
    group by t.customer_id
),

-- their returns dated before D (before their first counted order): lifetime value, and monetary
-- for those in the RFM window (one scan of the returns' rows, for these few customers)
newcomer_returns as (
    select
        o.customer_id,
        sum(o.value) as v_before,
        coalesce(sum(o.value) filter (o.order_date > $start_date::date - $rfm_window_days), 0)
        as v_rfm_before
    from stg_orders as o
    semi join newcomers as n on o.customer_id = n.customer_id
    where o.status = 'returned' and o.order_date < $start_date
    group by o.customer_id
),

carried as (
    select
        p.customer_id,
        p.first_order_at,
        p.flagged_since as previous_flagged_since,
        greatest(p.last_order_at, oc.last_at) as last_order_at,
        p.lifetime_orders + coalesce(oc.n_today, 0) as lifetime_orders,
        p.lifetime_value + coalesce(oc.v_today, 0) as lifetime_value,
        p.frequency + coalesce(oc.n_today, 0) - coalesce(oc.n_leaves_rfm, 0) as frequency,
        p.monetary + coalesce(oc.v_today, 0) - coalesce(oc.v_leaves_rfm, 0) as monetary,
        p.orders_recent + coalesce(oc.n_today, 0) - coalesce(oc.n_leaves_recent, 0)
        as orders_recent,
        p.drop_history_orders + coalesce(oc.n_leaves_recent, 0)
        - coalesce(oc.n_leaves_history, 0) as drop_history_orders,
        p.complaint_count + coalesce(cc.d_complaints, 0) as complaint_count
    from previous as p
    left join order_changes as oc on p.customer_id = oc.customer_id
    left join complaint_changes as cc on p.customer_id = cc.customer_id
    union all
    select
        oc.customer_id,
        oc.first_at,
        null,
        oc.last_at,
        oc.n_today,
        oc.v_today + coalesce(nr.v_before, 0),
        oc.n_today,
        oc.v_today + coalesce(nr.v_rfm_before, 0),
        oc.n_today,
        0,
        coalesce(nc.complaint_count, 0)
    from order_changes as oc
    semi join newcomers as n on oc.customer_id = n.customer_id
    left join newcomer_complaints as nc on oc.customer_id = nc.customer_id
    left join newcomer_returns as nr on oc.customer_id = nr.customer_id
)

select
    customer_id,
    first_order_at,
    first_order_at::date as first_order_date,
    previous_flagged_since,
    $start_date::date as from_day,
    $start_date::date as until_day,
    last_order_at::date as last_order_date,
    last_order_at,
    lifetime_orders,
    lifetime_value,
    frequency,
    monetary,
    orders_recent,
    drop_history_orders,
    complaint_count,
    (monetary::decimal(18, 2) * 100)::bigint as monetary_cents
from carried
