-- grain: the columns of repurchase_period_moved.sql and no row: a build from scratch moves no
-- period.
with nothing as (
    select
        period_type,
        period_start,
        null::varchar as tier,
        end_as_of as old_end,
        0::bigint as buyers,
        0::bigint as repeat_buyers,
        0::bigint as lifetime_customers,
        0::bigint as lifetime_repeat_customers
    from report_periods
    where false
)

select * from nothing
