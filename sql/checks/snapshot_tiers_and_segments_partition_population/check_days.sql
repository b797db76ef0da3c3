-- grain: one row per snapshot day written by the latest customer_snapshot run (a step of the check
-- snapshot_tiers_and_segments_partition_population, a temp table): its rows and the rows breaking
-- a rule, counted from the stored state of those days without expanding it into days. Only the
-- rows holding on some day of $first_day..$last_day (the days of that run, given as constants) are
-- read: a filter the scan applies to two date columns, so the check reads what the run's days
-- hold, not the whole history. Each row, cut to those days, adds 1 (and 1 per rule it breaks) on
-- its first day and takes it away the day after its last; a running sum over those change days
-- gives every day's counts, and each day of the run takes the last change on or before it (a
-- range of 540 days at CDNOW size: 0.03 s against 0.7 s for a join of every day with the rows
-- holding on it).
with last_write as (
    select p.as_of
    from snapshot_params as p
    where p.computed_at = (select max(latest.computed_at) from snapshot_params as latest)
),

held as (
    -- a rule broken counts 1: the rows that `count(*) filter (rule)` counts (NULL: not broken)
    select
        greatest(valid_from, $first_day::date) as from_day,
        least(coalesce(valid_to, date '9999-12-31'), $last_day::date) as to_day,
        coalesce(tier is null or not list_contains($tiers, tier), false)::integer as bad_tier,
        (segment is null)::integer as no_segment,
        coalesce(
            not (r between 1 and 5 and f between 1 and 5 and m between 1 and 5), false
        )::integer as bad_rfm,
        coalesce(list_contains($tiers, tier), false)::integer as by_tier
    from customer_state
    where
        valid_from <= $last_day::date
        and coalesce(valid_to, date '9999-12-31') >= $first_day::date
),

changes as (
    select
        day,
        sum(rows_) as rows_,
        sum(bad_tier) as bad_tier,
        sum(no_segment) as no_segment,
        sum(bad_rfm) as bad_rfm,
        sum(by_tier) as by_tier
    from (
        select from_day as day, 1 as rows_, bad_tier, no_segment, bad_rfm, by_tier from held
        union all
        select to_day + 1 as day, -1 as rows_, -bad_tier, -no_segment, -bad_rfm, -by_tier
        from held
    ) as edges
    group by day
),

running as (
    select
        day,
        sum(rows_) over w as rows_,
        sum(bad_tier) over w as bad_tier,
        sum(no_segment) over w as no_segment,
        sum(bad_rfm) over w as bad_rfm,
        sum(by_tier) over w as by_tier
    from changes
    window w as (order by day rows between unbounded preceding and current row)
),

per_day as (
    select
        d.as_of,
        coalesce(r.rows_, 0)::bigint as rows_,
        coalesce(r.bad_tier, 0)::bigint as bad_tier,
        coalesce(r.no_segment, 0)::bigint as no_segment,
        coalesce(r.bad_rfm, 0)::bigint as bad_rfm,
        coalesce(r.by_tier, 0)::bigint as by_tier
    from last_write as d
    asof left join running as r on d.as_of >= r.day
)

select * from per_day
