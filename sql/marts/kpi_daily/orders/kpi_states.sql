-- grain: one row per (as_of, customer_id) for each day of kpi_days and each customer with a
-- counted order by then (a step of kpi_daily, a temp table): the customer's state from the orders
-- (the last counted order by the window start and by the day, the orders in between) and the
-- stored snapshot of the window start (its tier). Used when those snapshots cannot be used for
-- everything (snapshots/kpi_counts.sql counts from those).
with order_days as (
    select
        customer_id,
        order_date,
        sum(count(*)) over (
            partition by customer_id order by order_date rows unbounded preceding
        ) as cum_orders
    from stg_orders
    where is_counted and order_date <= $end_date
    group by customer_id, order_date
),

first_orders as (
    select customer_id, min(order_date) as first_order_date from order_days group by customer_id
),

-- the stored tier on the window starts: customer_state read for those days (joining the view on
-- as_of would span every stored day)
start_tiers as (
    select
        sp.as_of,
        s.customer_id,
        s.tier
    from snapshot_params as sp
    semi join kpi_days as d on sp.as_of = d.window_start
    inner join customer_state as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
),

-- every customer with a counted order by as_of: their last order by window_start and by as_of
customer_days as (
    select d.as_of, d.window_start, f.customer_id, f.first_order_date
    from kpi_days as d
    inner join first_orders as f on f.first_order_date <= d.as_of
),

states as (
    select
        c.as_of,
        c.window_start,
        c.customer_id,
        c.first_order_date <= c.window_start as in_start_population,
        coalesce(at_start.order_date > c.window_start - $active_days, false) as active_start,
        at_end.order_date > c.as_of - $active_days as active_end,
        at_end.cum_orders - coalesce(at_start.cum_orders, 0) as window_orders,
        s.tier as start_tier
    from customer_days as c
    asof left join order_days as at_start
        on c.customer_id = at_start.customer_id and c.window_start >= at_start.order_date
    asof inner join order_days as at_end
        on c.customer_id = at_end.customer_id and c.as_of >= at_end.order_date
    left join start_tiers as s
        on c.window_start = s.as_of and c.customer_id = s.customer_id
)

select * from states
