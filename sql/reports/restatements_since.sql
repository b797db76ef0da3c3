-- The restatements recorded after $since (NULL: all), newest run first, then by period type
-- ($period_types order), period, table ($tables order), key and metric; at most $row_limit rows.
select
    restated_at,
    period_type,
    period_start,
    period_end,
    table_name,
    key,
    metric,
    old_value,
    new_value,
    cause_kind,
    cause
from restatements
where $since::timestamp is null or restated_at > $since::timestamp
order by
    restated_at desc,
    list_position($period_types, period_type) asc,
    period_start desc,
    list_position($tables, table_name) asc,
    key asc,
    metric asc
limit $row_limit
