-- grain: one row per (as_of, customer) with a counted order on or before day D = as_of: the BG/NBD
-- summary at D and at the backtest's calibration end C = calibration_end, and what the customer
-- bought in (C, D], from the work table value_customer_days (the per-customer sums of
-- value_customers.sql with their day D and its C as columns: one purchase per customer-day, net of
-- returns; value_customer_day.sql for one day, value_customer_days.sql for many at once).
-- A work table of loyalty.marts.value (temp): `k` (value_customers.sql) numbers its rows for the
-- scores joined back.
with per_customer as (
    select * from value_customer_days
    where days > 0
),

-- the mean value of the repeat days rounded to the cent half away from zero, exactly: integer cents
-- c over n days, sign(c) * ((2 |c| + n) // 2n)
cents as (
    select
        *,
        ((value - first_value) * 100)::bigint as repeat_cents,
        (case when cal_days > 0 then (cal_value - first_value) * 100 end)::bigint as cal_repeat_cents
    from per_customer
),

final as (
    select
        as_of,
        k,
        customer_id,
        first_day,
        (days - 1)::integer as frequency,
        date_diff('day', first_day, last_day)::integer as recency_days,
        date_diff('day', first_day, as_of)::integer as t_days,
        (
            sign(repeat_cents) * ((2 * abs(repeat_cents) + days - 1) // nullif(2 * (days - 1), 0))
            * 0.01
        )::decimal(18, 2) as monetary_repeat,
        -- the same at C, for customers whose first purchase day is on or before C (else NULL)
        (cal_days - 1)::integer as cal_frequency,
        date_diff('day', first_day, cal_last_day)::integer as cal_recency_days,
        case
            when cal_days > 0 then date_diff('day', first_day, calibration_end)
        end::integer as cal_t_days,
        (
            sign(cal_repeat_cents) * ((2 * abs(cal_repeat_cents) + cal_days - 1) // nullif(2 * (cal_days - 1), 0))
            * 0.01
        )::decimal(18, 2) as cal_monetary_repeat,
        date_diff('day', cal_last_day, calibration_end)::integer as cal_days_silent,
        holdout_orders::integer as holdout_orders,
        holdout_value::decimal(18, 2) as holdout_value
    from cents
)

select * from final
