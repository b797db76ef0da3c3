-- grain: one row per (period_type, period_start, tier) of the periods whose counts an incremental
-- build takes from what they were at an earlier end (old_end), adding what the customers that
-- changed after old_end add and take away (retention_period.sql). Every count is a sum over
-- customers, and a customer whose state and orders did not change after old_end counts the same at
-- old_end and at the new end, so this equals the count over everyone.
--   moved: the stored rows of the periods that only moved their end: reported now with an end on
--     or after $since, stored with an end (old_end) before it and the same start;
--   started: the periods reported now that have no stored row yet and start the day after a day
--     on or after $since - 1 (a night's new week, month or quarter), taken from what they were
--     on their start snapshot (old_end = start_as_of), a period of no day: everyone of the start
--     population in their start tier, the active ones started and kept, nothing lost, new,
--     reactivated or activated. One count over the population of start_as_of instead of two
--     evaluations of every customer (1.1 s of a Monday night at 10 M orders).
with moved as (
    select
        s.period_type,
        s.period_start,
        s.tier,
        s.end_as_of as old_end,
        s.start_count,
        s.end_count,
        s.new_count,
        s.kept_count,
        s.lost_count,
        s.reactivated_count,
        s.new_active_count,
        s.start_population,
        s.activated_count
    from retention_period as s
    inner join report_periods as p
        on
            s.period_type = p.period_type
            and s.period_start = p.period_start
            and s.start_as_of = p.start_as_of
    where s.end_as_of < $since and p.end_as_of >= $since
),

started as (
    select p.period_type, p.period_start, p.start_as_of
    from report_periods as p
    anti join retention_period as s
        on s.period_type = p.period_type and s.period_start = p.period_start
    where p.end_as_of >= $since and p.start_as_of >= $since::date - 1
),

start_population as (
    -- customer_state read for the start days only (as retention_period.sql's day_state)
    select st.period_type, st.period_start, st.start_as_of, c.tier, c.is_active
    from started as st
    semi join snapshot_params as sp on st.start_as_of = sp.as_of
    -- only the rows holding on or after the earliest start day read ($since - 1, a constant)
    inner join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $since::date - 1
    ) as c
        on st.start_as_of between c.valid_from and coalesce(c.valid_to, date '9999-12-31')
),

start_tiers as (
    select *, tier as tier_key from start_population
    union all
    select *, $all_key as tier_key from start_population
),

started_counts as (
    select
        period_type,
        period_start,
        tier_key as tier,
        start_as_of as old_end,
        count(*) filter (where is_active) as start_count,
        count(*) filter (where is_active) as end_count,
        0::bigint as new_count,
        count(*) filter (where is_active) as kept_count,
        0::bigint as lost_count,
        0::bigint as reactivated_count,
        0::bigint as new_active_count,
        count(*) as start_population,
        0::bigint as activated_count
    from start_tiers
    group by all
)

select * from moved
union all
select * from started_counts
