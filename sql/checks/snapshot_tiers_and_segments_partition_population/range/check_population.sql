-- grain: one row per day of check_days (several days): the population counted independently from
-- the orders, from each customer's first counted order day.
with first_days as (
    select customer_id, min(order_date) as first_day
    from stg_orders
    where is_counted
    group by customer_id
),

population as (
    select d.as_of, count(f.customer_id) as population
    from check_days as d
    left join first_days as f on f.first_day <= d.as_of
    group by d.as_of
)

select * from population
