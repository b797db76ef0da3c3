-- grain: one row per day as_of of kpi_days with customers (a step of kpi_daily, a temp table): the
-- customer counts of the board's order KPIs (snapshots/kpi_counts.sql says what each counts), from
-- the states derived from the orders (kpi_states.sql in this folder), customer by customer.
select
    as_of,
    count(*) filter (where active_start) as churn_n,
    count(*) filter (where active_start and not active_end) as churned,
    count(*) filter (where active_start and start_tier = 'A') as tier_a_n,
    count(*) filter (where active_start and start_tier = 'A' and active_end) as tier_a_kept,
    count(*) filter (where in_start_population and start_tier = 'D') as tier_d_n,
    count(*) filter (
        where in_start_population and start_tier = 'D' and window_orders > 0
    ) as tier_d_activated,
    count(*) filter (where window_orders >= 1) as buyers,
    count(*) filter (where window_orders >= 2) as repeat_buyers
from kpi_states
group by as_of
