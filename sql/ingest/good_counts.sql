-- Rows (keys) the unit's upsert writes, and the input records behind them.
select
    count(*) as keys_loaded,
    coalesce(sum(_line_count), 0) as rows_loaded
from ingest_good;
