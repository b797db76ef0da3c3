-- grain: the columns of retention_period_moved.sql and no row: a build from scratch moves no period.
with nothing as (
    select
        period_type,
        period_start,
        null::varchar as tier,
        end_as_of as old_end,
        0::bigint as start_count,
        0::bigint as end_count,
        0::bigint as new_count,
        0::bigint as kept_count,
        0::bigint as lost_count,
        0::bigint as reactivated_count,
        0::bigint as new_active_count,
        0::bigint as start_population,
        0::bigint as activated_count
    from report_periods
    where false
)

select * from nothing
