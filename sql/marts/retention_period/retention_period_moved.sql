-- grain: one row per (period_type, period_start, tier) of the stored retention_period rows of the
-- periods that only moved their end: reported now with an end on or after $since, stored with an
-- end (old_end) before it and the same start. Nothing on or before old_end changed since (every
-- changed day is on or after $since), so such a period's new counts are its stored counts plus
-- what the customers that changed after old_end add and take away (retention_period.sql).
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
)

select * from moved
