-- Counted orders (stg_orders.is_counted) per week: the report week starting $week_start and the
-- $weeks weeks before it, one row per week (zero when none), oldest first.
with weeks as (
    select
        unnest(
            generate_series(
                $week_start::date - 7 * $weeks, $week_start::date, interval 7 day
            )
        )::date as week_start
),

counted as (
    select order_date
    from stg_orders
    where
        is_counted
        and order_date >= $week_start::date - 7 * $weeks
        and order_date < $week_start::date + 7
)

select
    w.week_start,
    count(c.order_date) as orders
from weeks as w
left join counted as c
    on c.order_date >= w.week_start and c.order_date < w.week_start + 7
group by w.week_start
order by w.week_start
