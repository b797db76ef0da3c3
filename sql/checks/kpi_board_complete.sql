-- grain: one row: the verdict of the check on kpi_daily. Each "violations: ..." column counts the
-- breaches of one rule (the check passes when all are 0): one row per (as_of, kpi), every KPI each
-- day, rates within [0, 1], NPS within [-100, 100] and money (the value at risk) not negative.
-- The rules on single rows are counted in one pass over the table (on Spark each scalar subquery
-- is a job of its own).
with duplicates as (
    select as_of, kpi
    from kpi_daily
    group by all
    having count(*) > 1
),

incomplete_days as (
    select as_of
    from kpi_daily
    group by as_of
    having count(distinct kpi) <> len($kpi_names)
),

verdict as (
    select
        (select count(*) from duplicates) as "violations: duplicate (as_of, kpi)",
        (select count(*) from incomplete_days) as "violations: days without every KPI",
        count(*) filter (where list_contains($rate_kpis, kpi) and value not between 0 and 1)
            as "violations: rate outside [0,1]",
        count(*) filter (where list_contains($money_kpis, kpi) and value < 0)
            as "violations: negative money",
        count(*) filter (where kpi = 'nps' and value not between -100 and 100)
        as "violations: nps outside [-100,100]",
        count(*) filter (where value < value_low - 1e-9 or value > value_high + 1e-9)
            as "violations: value outside its interval"
    from kpi_daily
)

select * from verdict
