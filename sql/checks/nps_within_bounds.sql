-- grain: one row: the verdict of the check on nps_period. Each "violations: ..." column counts the
-- breaches of one rule (the check passes when all are 0): one row per key; promoters + passives +
-- detractors = responses; NPS within [-100, 100]; CSAT share within [0, 1]; NPS and CSAT within
-- their intervals.
-- The rules on single rows are counted in one pass over the table (on Spark each scalar subquery
-- is a job of its own).
with duplicates as (
    select period_type, period_start, tier
    from nps_period
    group by all
    having count(*) > 1
),

verdict as (
    select
        (select count(*) from duplicates)
        as "violations: duplicate (period_type, period_start, tier)",
        count(*) filter (where promoters + passives + detractors <> responses)
        as "violations: groups do not add up to responses",
        count(*) filter (where nps not between -100 and 100)
        as "violations: nps outside [-100,100]",
        count(*) filter (where csat not between 0 and 1)
        as "violations: csat outside [0,1]",
        count(*) filter (
            where nps < nps_low - 1e-9 or nps > nps_high + 1e-9
                or csat < csat_low - 1e-9 or csat > csat_high + 1e-9
        ) as "violations: nps or csat outside its interval"
    from nps_period
)

select * from verdict
