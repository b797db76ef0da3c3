-- grain: one row: the verdict of the check on customer_snapshot. Each "violations: ..." column
-- counts the breaches of one rule (the check passes when all are 0); the other columns say how much
-- was checked. Reads check_days, check_overlaps and check_population (the steps in this folder).
-- The sums over check_days are one pass over it (on Spark each scalar subquery is a job of its own).
with verdict as (
    select
        (select o.overlapping_rows from check_overlaps as o)
        as "violations: duplicate (as_of, customer_id)",
        coalesce(sum(d.bad_tier), 0) as "violations: tier not in A-D",
        coalesce(sum(d.no_segment), 0) as "violations: segment missing",
        coalesce(sum(d.bad_rfm), 0) as "violations: r/f/m outside 1-5",
        (
            select count(*)
            from check_days as cd
            inner join check_population as p on cd.as_of = p.as_of
            where p.population <> cd.rows_
        ) as "violations: days whose row count differs from the population",
        count(*) filter (where d.rows_ <> d.by_tier)
        as "violations: days whose tier counts do not add up",
        count(*) as "days checked",
        coalesce(sum(d.rows_), 0) as "rows checked",
        (select o.rows_written from check_overlaps as o) as "state rows written"
    from check_days as d
)

select * from verdict
