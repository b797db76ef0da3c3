-- grain: one row per (period_type, period_start, tier) of the periods whose counts an incremental
-- build takes from their stored counts at an earlier end (old_end), moved by what the customers
-- that bought or whose state changed after old_end add and take away (repurchase_period.sql):
-- reported now with an end on or after $since, stored with an end before it (a stored snapshot
-- day: the changed customers are read on it) and the same start.
with moved as (
    select
        s.period_type,
        s.period_start,
        s.tier,
        s.end_as_of as old_end,
        s.buyers,
        s.repeat_buyers,
        s.lifetime_customers,
        s.lifetime_repeat_customers
    from repurchase_period as s
    inner join report_periods as p
        on s.period_type = p.period_type and s.period_start = p.period_start
    semi join snapshot_params as sp on s.end_as_of = sp.as_of
    where s.end_as_of < $since and p.end_as_of >= $since
)

select * from moved
