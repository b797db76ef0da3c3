-- grain: one row: the verdict of the check on service_period. Each "violations: ..." column counts
-- the breaches of one rule (the check passes when all are 0): one row per key; met + breached <=
-- tickets; priorities add up to 'all'; rates in [0, 1]; sla_rate within its Wilson interval.
-- The rules on single rows are counted in one pass over the table (on Spark each scalar subquery
-- is a job of its own).
with duplicates as (
    select period_type, period_start, priority
    from service_period
    group by all
    having count(*) > 1
),

priority_sums as (
    select
        period_type,
        period_start,
        sum(tickets) filter (where priority <> $all_key) as by_priority,
        sum(tickets) filter (where priority = $all_key) as total
    from service_period
    group by all
),

verdict as (
    select
        (select count(*) from duplicates)
        as "violations: duplicate (period_type, period_start, priority)",
        count(*) filter (where met + breached > tickets)
        as "violations: met + breached > tickets",
        (select count(*) from priority_sums where by_priority <> total)
        as "violations: priorities do not sum to all",
        count(*) filter (where sla_rate not between 0 and 1)
        as "violations: sla_rate outside [0,1]",
        count(*) filter (where complaint_sla_rate not between 0 and 1)
        as "violations: complaint_sla_rate outside [0,1]",
        count(*) filter (where sla_rate < sla_rate_low - 1e-9 or sla_rate > sla_rate_high + 1e-9)
            as "violations: sla_rate outside its interval"
    from service_period
)

select * from verdict
