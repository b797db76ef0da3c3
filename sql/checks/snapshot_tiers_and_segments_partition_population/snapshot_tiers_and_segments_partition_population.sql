-- grain: one row: the verdict of the check on customer_snapshot. Each "violations: ..." column
-- counts the breaches of one rule (the check passes when all are 0); the other columns say how much
-- was checked. Reads check_days, check_overlaps and check_population (the steps in this folder).
with verdict as (
    select
        (select overlapping_rows from check_overlaps)
        as "violations: duplicate (as_of, customer_id)",
        (select coalesce(sum(bad_tier), 0) from check_days) as "violations: tier not in A-D",
        (select coalesce(sum(no_segment), 0) from check_days) as "violations: segment missing",
        (select coalesce(sum(bad_rfm), 0) from check_days) as "violations: r/f/m outside 1-5",
        (
            select count(*)
            from check_days as d
            inner join check_population as p on d.as_of = p.as_of
            where p.population <> d.rows_
        ) as "violations: days whose row count differs from the population",
        (select count(*) from check_days where rows_ <> by_tier)
        as "violations: days whose tier counts do not add up",
        (select count(*) from check_days) as "days checked",
        (select coalesce(sum(rows_), 0) from check_days) as "rows checked",
        (select rows_written from check_overlaps) as "state rows written"
)

select * from verdict
