-- Quarantined input records per source and reason, the most frequent reason first.
select
    source,
    reason_code,
    sum(line_count)::bigint as rows
from quarantine
group by source, reason_code
order by source asc, sum(line_count) desc, reason_code asc
