-- grain: one row per day of check_days (here one day D whose stored day before still holds, the
-- nightly case): what the night changed, counted independently from the orders — the customers
-- whose first counted order is on D — added to the stored population of D - 1 (verified when it
-- was written), instead of a distinct count over every order.
with on_day as (
    select distinct customer_id
    from stg_orders
    where is_counted and order_date = (select max(as_of) from check_days)
),

newcomers as (
    select count(*) as customers
    from on_day as d
    where not exists (
        select 1
        from stg_orders as o
        where
            o.customer_id = d.customer_id
            and o.is_counted
            and o.order_date < (select max(as_of) from check_days)
    )
),

before as (
    select count(*) as customers
    from customer_state
    where
        valid_from <= (select max(as_of) from check_days) - 1
        and coalesce(valid_to, date '9999-12-31') >= (select max(as_of) from check_days) - 1
)

select
    d.as_of,
    (select customers from before) + (select customers from newcomers) as population
from check_days as d
