-- Earlier loads of the same content (sha256 of the file bytes) for one kind, oldest first: a
-- re-delivered file under a new name is skipped, not loaded twice.
select
    file_name,
    status
from ingest_log
where source = $source and content_hash = $content_hash
order by load_id;
