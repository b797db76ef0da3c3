-- Whether the CSV reader rejected any line of the file being loaded.
select count(*) as rejects
from ingest_rejects;
