-- grain: one row per day of check_days (here one day): the population counted independently from
-- the orders, a distinct count of the customers with a counted order by that day.
with population as (
    select
        as_of,
        (
            select count(distinct o.customer_id) from stg_orders as o
            where o.is_counted and o.order_date <= d.as_of
        ) as population
    from check_days as d
)

select * from population
