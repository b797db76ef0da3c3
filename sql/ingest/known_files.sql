-- Every file of one kind that ingest has seen, as (name, size, modification time): a file that
-- matches on all three is not read again (pipeline/ingest/discovery.py).
select
    file_name,
    size_bytes,
    modified_at
from ingest_log
where source = $source;
