-- grain: one row: the verdict of the check on cohort_retention. Each "violations: ..." column
-- counts the breaches of one rule (the check passes when all are 0): one row per (row_type,
-- cohort_month, k); shares within [0, 1]; month 0 is everyone.
with duplicates as (
    select row_type, cohort_month, k
    from cohort_retention
    group by all
    having count(*) > 1
),

verdict as (
    select
        (select count(*) from duplicates) as "violations: duplicate (row_type, cohort_month, k)",
        (select count(*) from cohort_retention where share not between 0 and 1)
        as "violations: share outside [0,1]",
        (select count(*) from cohort_retention where k = 0 and active_count <> size)
        as "violations: k = 0 cell not the whole cohort"
)

select * from verdict
