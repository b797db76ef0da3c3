-- grain: one row per snapshot day written by the latest customer_snapshot run (a step of the check
-- snapshot_tiers_and_segments_partition_population, a temp table): its rows and the rows breaking
-- a rule, counted in one pass over the stored state of those days (no per-day expansion). Only
-- the rows holding on some day of $first_day..$last_day (the days of that run, given as constants)
-- are joined: a filter the scan applies to two date columns, so the check reads what the run's days
-- hold, not the whole history (0.6 s against 0.1 s at 10 M orders with a year of history).
with last_write as (
    select p.as_of
    from snapshot_params as p
    where p.computed_at = (select max(latest.computed_at) from snapshot_params as latest)
),

per_day as (
    select
        d.as_of,
        count(s.customer_id) as rows_,
        count(s.customer_id) filter (s.tier is null or not list_contains($tiers, s.tier))
        as bad_tier,
        count(s.customer_id) filter (s.segment is null) as no_segment,
        count(s.customer_id) filter (
            not (s.r between 1 and 5 and s.f between 1 and 5 and s.m between 1 and 5)
        ) as bad_rfm,
        count(s.customer_id) filter (list_contains($tiers, s.tier)) as by_tier
    from last_write as d
    left join (
        select customer_id, valid_from, valid_to, tier, segment, r, f, m
        from customer_state
        where
            valid_from <= $last_day::date
            and coalesce(valid_to, date '9999-12-31') >= $first_day::date
    ) as s
        on d.as_of >= s.valid_from and d.as_of <= coalesce(s.valid_to, date '9999-12-31')
    group by d.as_of
)

select * from per_day
