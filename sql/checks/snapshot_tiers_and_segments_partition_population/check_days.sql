-- grain: one row per snapshot day written by the latest customer_snapshot run (a step of the check
-- snapshot_tiers_and_segments_partition_population, a temp table): its rows, customers and the
-- rows breaking a rule, counted in one pass over those days.
with last_write as (
    select p.as_of
    from snapshot_params as p
    where p.computed_at = (select max(latest.computed_at) from snapshot_params as latest)
),

per_day as (
    select
        as_of,
        count(*) as rows_,
        count(distinct customer_id) as customers,
        count(*) filter (tier is null or not list_contains($tiers, tier)) as bad_tier,
        count(*) filter (segment is null) as no_segment,
        count(*) filter (
            not (r between 1 and 5 and f between 1 and 5 and m between 1 and 5)
        ) as bad_rfm,
        count(*) filter (list_contains($tiers, tier)) as by_tier
    from customer_snapshot
    where as_of in (select as_of from last_write)
    group by as_of
)

select * from per_day
