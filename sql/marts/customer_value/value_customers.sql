-- grain: one row per customer with a counted order or a return on or before $as_of (day D): what
-- the BG/NBD summary (value_summary.sql) is made of, at D and at the backtest's calibration end
-- C = $calibration_end. One purchase per customer-day: a day's counted orders are summed into one
-- purchase. Returns (status `returned`) lower the spend of their day (a day with only returns is
-- no purchase day, its returns lower the customer's repeat spend), so the spend is net of returns.
-- Every column is a count, a sum, a first or a last over the customer's days, so the table of a
-- later day is this one plus the days after D and the days that move from after C to on or before
-- the later C (loyalty.marts.value_state keeps it that way on DuckDB, state/*.sql). `k` numbers
-- the customers (by id here; on DuckDB the kept table numbers a night's new customers after the
-- others) for the summary's scores joined back: kept, the summary need not number 2.5 M customers
-- a night (a sort: 0.7 s of its 1.0 s at 10 M orders).
with customer_days as (
    select customer_id, order_date as day, sum(value) as value, bool_or(is_counted) as bought
    from stg_orders
    where (is_counted or status = 'returned') and order_date <= $as_of::date
    group by all
),

final as (
    select
        row_number() over (order by customer_id) as k,
        customer_id,
        min(day) filter (bought) as first_day,
        max(day) filter (bought) as last_day,
        count(*) filter (bought) as days,
        sum(value) as value,
        arg_min(value, day) filter (bought) as first_value,
        max(day) filter (bought and day <= $calibration_end::date) as cal_last_day,
        count(*) filter (bought and day <= $calibration_end::date) as cal_days,
        coalesce(sum(value) filter (where day <= $calibration_end::date), 0) as cal_value,
        count(*) filter (bought and day > $calibration_end::date) as holdout_orders,
        coalesce(sum(value) filter (where day > $calibration_end::date), 0) as holdout_value
    from customer_days
    group by customer_id
)

select * from final
