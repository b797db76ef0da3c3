-- grain: one row per (as_of, customer) for every day D = as_of of the work table value_days
-- (as_of, calibration_end) and every customer with a counted order or a return on or before D:
-- value_customers.sql's sums at each D and its C = calibration_end, for many days in one pass (a
-- first run's model days, loyalty.marts.value_range). The columns and their meaning are
-- value_customers.sql's (tests/test_value_days.py: the same rows as value_customers.sql day by
-- day); `k` numbers the customers of each day by id.
with customer_days as (
    select customer_id, order_date as day, sum(value) as value, bool_or(is_counted) as bought
    from stg_orders
    where (is_counted or status = 'returned') and order_date <= $end_date::date
    group by all
),

final as (
    select
        d.as_of,
        d.calibration_end,
        row_number() over (partition by d.as_of order by c.customer_id asc) as k,
        c.customer_id,
        min(c.day) filter (c.bought) as first_day,
        max(c.day) filter (c.bought) as last_day,
        count(*) filter (c.bought) as days,
        sum(c.value) as value,
        arg_min(c.value, c.day) filter (c.bought) as first_value,
        max(c.day) filter (c.bought and c.day <= d.calibration_end) as cal_last_day,
        count(*) filter (c.bought and c.day <= d.calibration_end) as cal_days,
        coalesce(sum(c.value) filter (where c.day <= d.calibration_end), 0) as cal_value,
        count(*) filter (c.bought and c.day > d.calibration_end) as holdout_orders,
        coalesce(sum(c.value) filter (where c.day > d.calibration_end), 0) as holdout_value
    from value_days as d
    inner join customer_days as c on d.as_of >= c.day
    group by d.as_of, d.calibration_end, c.customer_id
)

select * from final
