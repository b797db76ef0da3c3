-- grain: one row per (as_of, customer_id) for each day of kpi_days and each customer of that day's
-- snapshot (a step of kpi_daily, a temp table), read from the stored snapshots of the day and of
-- its window start, when both are stored and current (loyalty.marts.kpis checks). The same states
-- orders/kpi_states.sql derives from the orders:
--   population on the day = the day's snapshot; in_start_population = in the window start's;
--   active_start / active_end = is_active there; window_orders = the difference of lifetime_orders
--   (counted orders in (window_start, as_of]); start_tier = the window start's tier.
with day_state as (
    -- customer_snapshot's stored columns on the days and window starts only: customer_state read
    -- for those stored days (joining the view on as_of would span every stored day)
    select
        sp.as_of,
        s.customer_id,
        s.is_active,
        s.lifetime_orders,
        s.tier
    from snapshot_params as sp
    semi join (
        select k.as_of from kpi_days as k
        union
        select k.window_start from kpi_days as k
    ) as d on sp.as_of = d.as_of
    inner join customer_state as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
)

select
    d.as_of,
    d.window_start,
    e.customer_id,
    s.customer_id is not null as in_start_population,
    coalesce(s.is_active, false) as active_start,
    e.is_active as active_end,
    e.lifetime_orders - coalesce(s.lifetime_orders, 0) as window_orders,
    s.tier as start_tier
from kpi_days as d
inner join day_state as e on d.as_of = e.as_of
left join day_state as s on d.window_start = s.as_of and e.customer_id = s.customer_id
