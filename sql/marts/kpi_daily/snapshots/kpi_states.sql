-- grain: one row per (as_of, customer_id) for each day of kpi_days and each customer of that day's
-- snapshot (a step of kpi_daily, a temp table), read from the stored snapshots of the day and of
-- its window start, when both are stored and current (loyalty.marts.kpis checks). The same states
-- orders/kpi_states.sql derives from the orders:
--   population on the day = the day's snapshot; in_start_population = in the window start's;
--   active_start / active_end = is_active there; window_orders = the difference of lifetime_orders
--   (counted orders in (window_start, as_of]); start_tier = the window start's tier.
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
inner join customer_snapshot as e on e.as_of = d.as_of
left join customer_snapshot as s on s.as_of = d.window_start and s.customer_id = e.customer_id
