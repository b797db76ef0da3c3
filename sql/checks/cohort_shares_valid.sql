-- grain: one row: the verdict of the check on cohort_retention. Each "violations: ..." column
-- counts the breaches of one rule (the check passes when all are 0): one row per (row_type,
-- cohort_month, k); shares within [0, 1]; month 0 is everyone.
-- The rules on single rows are counted in one pass over the table (on Spark each scalar subquery
-- is a job of its own).
with duplicates as (
    select row_type, cohort_month, k
    from cohort_retention
    group by all
    having count(*) > 1
),

verdict as (
    select
        (select count(*) from duplicates) as "violations: duplicate (row_type, cohort_month, k)",
        count(*) filter (where share not between 0 and 1)
        as "violations: share outside [0,1]",
        count(*) filter (where k = 0 and active_count <> size)
        as "violations: k = 0 cell not the whole cohort"
    from cohort_retention
)

select * from verdict
