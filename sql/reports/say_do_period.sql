-- The say-do gap's period of type $period_type shown as of $as_of: the latest complete one whose
-- every answer's window ended on or before $as_of, with its window (NULL when none).
select
    max(period_start) as period_start,
    arg_max(period_end, period_start) as period_end,
    arg_max(window_days, period_start) as window_days
from say_do
where
    period_type = $period_type
    and is_complete
    and period_end + window_days <= $as_of
