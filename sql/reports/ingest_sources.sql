-- Cumulative ingest figures per source over every file of ingest_log.
select
    source,
    count(*) filter (where status = 'loaded') as files,
    coalesce(sum(rows_read), 0)::bigint as rows_read,
    coalesce(sum(rows_loaded), 0)::bigint as rows_loaded,
    coalesce(sum(rows_quarantined), 0)::bigint as rows_quarantined,
    coalesce(sum(keys_replaced), 0)::bigint as duplicates_replaced,
    max(loaded_at) as last_loaded_at
from ingest_log
group by source
order by source
