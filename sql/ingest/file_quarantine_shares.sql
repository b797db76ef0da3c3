-- grain: one row per file name of one kind (its latest load): the share of its records in
-- quarantine, largest first (the <kind>_quarantine_share check).
select
    file_name,
    rows_read,
    rows_quarantined,
    rows_quarantined / nullif(rows_read, 0) as share
from ingest_log
where source = $source and status = 'loaded'
qualify row_number() over (partition by file_name order by load_id desc) = 1
order by share desc nulls last;
