-- The line number of every accepted record of the file being loaded, when the CSV reader rejected
-- some lines (pipeline/ingest/mapping.py, line_numbered_source): the record's position among the
-- accepted ones, plus the rejected lines before it. An ASOF join adds those (a sort, bounded by
-- the memory limit, where a correlated count over every row would not be).
create or replace temp table ingest_raw_lines as
with accepted as (
    select
        r.rowid as rid,
        $first_data_line + r.rowid - (select min(rowid) from ingest_raw) as compressed
    from ingest_raw as r
),

rejected as (
    -- a rejected line's position among the accepted ones, and how many were rejected up to and
    -- including it
    select
        line - row_number() over (order by line) as v,
        row_number() over (order by line) as skipped
    from (select distinct line from ingest_rejects) as rejected_lines
),

steps as (
    select
        v,
        max(skipped) as skipped
    from rejected
    group by v
)

select
    a.rid as _rid,
    a.compressed + coalesce(s.skipped, 0) as _line
from accepted as a
asof left join steps as s on a.compressed > s.v;
