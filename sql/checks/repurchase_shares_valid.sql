-- grain: one row: the verdict of the check on repurchase_period. Each "violations: ..." column
-- counts the breaches of one rule (the check passes when all are 0): one row per key; repeat
-- buyers never exceed buyers; rates within [0, 1] and within their Wilson interval.
-- The rules on single rows are counted in one pass over the table (on Spark each scalar subquery
-- is a job of its own).
with duplicates as (
    select period_type, period_start, tier
    from repurchase_period
    group by all
    having count(*) > 1
),

verdict as (
    select
        (select count(*) from duplicates)
        as "violations: duplicate (period_type, period_start, tier)",
        count(*) filter (where repeat_buyers > buyers)
        as "violations: repeat_buyers > buyers",
        count(*) filter (where repurchase_rate not between 0 and 1)
        as "violations: repurchase_rate outside [0,1]",
        count(*) filter (where lifetime_repeat_rate not between 0 and 1)
        as "violations: lifetime_repeat_rate outside [0,1]",
        count(*) filter (
            where repurchase_rate < repurchase_rate_low - 1e-9
                or repurchase_rate > repurchase_rate_high + 1e-9
        ) as "violations: repurchase_rate outside its interval"
    from repurchase_period
)

select * from verdict
