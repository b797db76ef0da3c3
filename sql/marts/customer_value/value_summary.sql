-- grain: one row per customer with a counted order on or before $as_of (day D): the BG/NBD summary
-- at D and at the backtest's calibration end C = $calibration_end, and what the customer bought in
-- (C, D]. One purchase per customer-day: a day's counted orders are summed into one purchase.
-- Returns (status `returned`) lower the spend of their day (a day with only returns is no purchase
-- day, its returns lower the customer's repeat spend), so the spend is net of returns.
-- A work table of loyalty.marts.value (temp): `k` numbers its rows (by customer id, so that sums
-- over them are the same in every run) for the scores joined back.
with customer_days as (
    select customer_id, order_date as day, sum(value) as value, bool_or(is_counted) as bought
    from stg_orders
    where (is_counted or status = 'returned') and order_date <= $as_of::date
    group by all
),

per_customer as (
    select
        customer_id,
        min(day) filter (bought) as first_day,
        max(day) filter (bought) as last_day,
        count(*) filter (bought) as days,
        sum(value) as value,
        arg_min(value, day) filter (bought) as first_value,
        max(day) filter (bought and day <= $calibration_end::date) as cal_last_day,
        count(*) filter (bought and day <= $calibration_end::date) as cal_days,
        case
            when cal_days > 0 then sum(value) filter (where day <= $calibration_end::date)
        end as cal_value,
        count(*) filter (bought and day > $calibration_end::date) as holdout_orders,
        coalesce(sum(value) filter (where day > $calibration_end::date), 0) as holdout_value
    from customer_days
    group by customer_id
    having count(*) filter (bought) > 0
),

-- the mean value of the repeat days rounded to the cent half away from zero, exactly: integer cents
-- c over n days, sign(c) * ((2 |c| + n) // 2n)
cents as (
    select
        *,
        ((value - first_value) * 100)::bigint as repeat_cents,
        ((cal_value - first_value) * 100)::bigint as cal_repeat_cents
    from per_customer
),

final as (
    select
        row_number() over (order by customer_id) as k,
        customer_id,
        first_day,
        (days - 1)::integer as frequency,
        date_diff('day', first_day, last_day)::integer as recency_days,
        date_diff('day', first_day, $as_of::date)::integer as t_days,
        (
            sign(repeat_cents) * ((2 * abs(repeat_cents) + days - 1) // nullif(2 * (days - 1), 0))
            * 0.01
        )::decimal(18, 2) as monetary_repeat,
        -- the same at C, for customers whose first purchase day is on or before C (else NULL)
        (cal_days - 1)::integer as cal_frequency,
        date_diff('day', first_day, cal_last_day)::integer as cal_recency_days,
        case
            when cal_days > 0 then date_diff('day', first_day, $calibration_end::date)
        end::integer as cal_t_days,
        (
            sign(cal_repeat_cents) * ((2 * abs(cal_repeat_cents) + cal_days - 1) // nullif(2 * (cal_days - 1), 0))
            * 0.01
        )::decimal(18, 2) as cal_monetary_repeat,
        date_diff('day', cal_last_day, $calibration_end::date)::integer as cal_days_silent,
        holdout_orders::integer as holdout_orders,
        holdout_value::decimal(18, 2) as holdout_value
    from cents
)

select * from final
