-- grain: one row per (period_type, period_start): the weeks (ISO, Monday), months and quarters the
-- period marts report on. A period is reported when the snapshot of the day before it (its
-- "start") is stored; it is complete when its last day is stored too, otherwise it is the current
-- partial period, measured up to the last stored snapshot day (end_as_of) and is_complete = false.
with stored_days as (
    -- one row per stored snapshot day, written with it (not a scan of every snapshot row)
    select distinct as_of from snapshot_params
),

last_stored as (
    select max(as_of) as last_day from stored_days
),

period_types as (
    select unnest($period_types) as period_type
),

candidates as (
    -- date_trunc('week', ...) is the ISO week's Monday
    select distinct t.period_type, date_trunc(t.period_type, d.as_of)::date as period_start
    from period_types as t
    cross join stored_days as d
),

spans as (
    select
        period_type,
        period_start,
        (
            period_start + case period_type
                when 'week' then interval 7 day
                when 'month' then interval 1 month
                else interval 3 month
            end
        )::date - 1 as period_end
    from candidates
),

final as (
    select
        s.period_type,
        s.period_start,
        s.period_end,
        s.period_start - 1 as start_as_of,
        least(s.period_end, l.last_day) as end_as_of,
        s.period_end <= l.last_day as is_complete
    from spans as s
    cross join last_stored as l
    where
        s.period_start - 1 in (select as_of from stored_days)
        and least(s.period_end, l.last_day) in (select as_of from stored_days)
)

select * from final
order by period_type, period_start
