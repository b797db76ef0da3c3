-- grain: one row per (customer_key, as_of) at risk after a day without churn_risk in the range (a
-- step of customer_snapshot, a temp table). flagged_since: the current run of churn_risk days starts
-- the day after the last day without it. Only customers with such a day in the range need the
-- running max (narrow rows, one sort); in a one-day run no customer may_clear, so it is empty.
with running as (
    select
        customer_key,
        as_of,
        churn_risk,
        max(case when not churn_risk then as_of end) over (
            partition by customer_key order by as_of rows unbounded preceding
        ) as last_clear_day
    from snapshot_days
    where may_clear
)

select customer_key, as_of, last_clear_day
from running
where churn_risk and last_clear_day is not null
