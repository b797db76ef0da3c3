-- grain: one row per customer with a counted order or a return dated in ($state_as_of, $as_of] or
-- in ($state_calibration_end, $calibration_end]: what moves value_customer_state (value_customers
-- at day S = $state_as_of and C_S = $state_calibration_end) to day D = $as_of and
-- C = $calibration_end. The days after S are new; the days in (C_S, C] leave the holdout for the
-- calibration (a day can be both when D - S > H). A work table of loyalty.marts.value_state (temp).
with customer_days as (
    select customer_id, order_date as day, sum(value) as value, bool_or(is_counted) as bought
    from stg_orders
    where
        (is_counted or status = 'returned')
        -- a bound range covering both spans, so that the ordered_at zone maps skip the older
        -- history (order_date is derived: a filter on it alone reads every order)
        and ordered_at >= (least($state_as_of::date, $state_calibration_end::date) + 1)::timestamp
        and ordered_at < (greatest($as_of::date, $calibration_end::date) + 1)::timestamp
        and (
            (order_date > $state_as_of::date and order_date <= $as_of::date)
            or (
                order_date > $state_calibration_end::date
                and order_date <= $calibration_end::date
            )
        )
    group by all
),

final as (
    select
        customer_id,
        -- the days after S
        min(day) filter (bought and day > $state_as_of::date) as new_first_day,
        arg_min(value, day) filter (bought and day > $state_as_of::date) as new_first_value,
        max(day) filter (bought and day > $state_as_of::date) as new_last_day,
        count(*) filter (bought and day > $state_as_of::date) as new_days,
        coalesce(sum(value) filter (where day > $state_as_of::date), 0) as new_value,
        -- the days that move from the holdout to the calibration
        max(day) filter (
            bought and day > $state_calibration_end::date and day <= $calibration_end::date
        ) as moved_last_day,
        count(*) filter (
            bought and day > $state_calibration_end::date and day <= $calibration_end::date
        ) as moved_days,
        coalesce(sum(value) filter (
            where day > $state_calibration_end::date and day <= $calibration_end::date
        ), 0) as moved_value
    from customer_days
    group by customer_id
)

select * from final
