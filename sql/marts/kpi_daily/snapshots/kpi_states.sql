-- grain: one row per (as_of, customer_id) for each day of kpi_days and each customer of that day's
-- snapshot (a step of kpi_daily, a temp table), read from the stored snapshots of the day and of
-- its window start, when both are stored and current (loyalty.marts.kpis checks). The same states
-- orders/kpi_states.sql derives from the orders:
--   population on the day = the day's snapshot; in_start_population = in the window start's;
--   active_start / active_end = is_active there; window_orders = the difference of lifetime_orders
--   (counted orders in (window_start, as_of]); start_tier = the window start's tier.
with days as (
    select
        k.as_of,
        k.window_start,
        k.window_start in (select ws.as_of from snapshot_params as ws) as start_stored
    from kpi_days as k
    semi join snapshot_params as sp on k.as_of = sp.as_of
),

end_rows as (
    -- customer_snapshot's stored columns on the days: customer_state read by its intervals for
    -- those stored days only (joining the view on as_of would span every stored day); the rows
    -- joined are first bounded by the days' range, $start_date - 7 .. $end_date (kpi_days.sql),
    -- constants the scan applies to two date columns: the history before it is not read
    select
        d.as_of,
        d.window_start,
        d.start_stored,
        s.customer_id,
        s.valid_from,
        s.is_active,
        s.lifetime_orders,
        s.tier
    from days as d
    inner join (
        select customer_id, valid_from, valid_to, is_active, lifetime_orders, tier
        from customer_state
        where
            valid_from <= $end_date::date
            and coalesce(valid_to, date '9999-12-31') >= $start_date::date - 7
    ) as s
        on d.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
),

-- most customers' row of the day already held at the window start: that row is their start too
-- (no order counted in between); the others' start is their row of the window start, looked up
-- for them only (a join of every customer of both days took 0.9 s of CPU at 10 M orders)
held as (
    select
        as_of,
        window_start,
        customer_id,
        true as in_start_population,
        is_active as active_start,
        is_active as active_end,
        0 as window_orders,
        tier as start_tier
    from end_rows
    where start_stored and valid_from <= window_start
),

looked_up as (
    select
        e.as_of,
        e.window_start,
        e.customer_id,
        s.customer_id is not null as in_start_population,
        coalesce(s.is_active, false) as active_start,
        e.is_active as active_end,
        e.lifetime_orders - coalesce(s.lifetime_orders, 0) as window_orders,
        s.tier as start_tier
    from end_rows as e
    -- bounded by the window starts' range, as end_rows by the days'
    left join (
        select customer_id, valid_from, valid_to, is_active, lifetime_orders, tier
        from customer_state
        where
            valid_from <= $end_date::date - $kpi_window_days
            and coalesce(valid_to, date '9999-12-31') >= $start_date::date - 7 - $kpi_window_days
    ) as s
        on
            e.start_stored
            and s.customer_id = e.customer_id
            and e.window_start between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    where not (e.start_stored and e.valid_from <= e.window_start)
)

select * from held
union all
select * from looked_up
