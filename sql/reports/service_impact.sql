-- Service -> loyalty impact (service_impact) of the last $periods complete periods of type
-- $period_type whose every ticket's window ended on or before $as_of, every priority in the order
-- $priorities, newest period first.
with final_periods as (
    select distinct period_start
    from service_impact
    where
        period_type = $period_type
        and is_complete
        and period_end + window_days <= $as_of
    order by period_start desc
    limit $periods
)

select *
from service_impact
where
    period_type = $period_type
    and period_start in (select f.period_start from final_periods as f)
order by
    period_start desc,
    coalesce(list_position($priorities, priority), len($priorities) + 1) asc,
    priority asc
