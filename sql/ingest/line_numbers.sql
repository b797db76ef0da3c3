-- The line number of every accepted record of the file being loaded, when the CSV reader rejected
-- some lines or the file has blank lines (pipeline/ingest/mapping.py, line_numbered_source): the
-- record's position among the accepted ones, plus the lines before it that are not accepted
-- records: those the reader rejected and the blank ones it skipped (both count in the reader's
-- line numbers; pipeline/ingest/blanklines.py finds the blank ones). An ASOF join adds those (a
-- sort, bounded by the memory limit, where a correlated count over every row would not be).
create or replace temp table ingest_raw_lines as
with accepted as (
    select
        r.rowid as rid,
        $first_data_line + r.rowid - (select min(rowid) from ingest_raw) as compressed
    from ingest_raw as r
),

skipped_lines as (
    select line from ingest_rejects
    union
    select line from ingest_blank_lines
),

skipped as (
    -- a skipped line's position among the accepted ones, and how many were skipped up to and
    -- including it
    select
        line - row_number() over (order by line) as v,
        row_number() over (order by line) as skipped
    from skipped_lines
),

steps as (
    select
        v,
        max(skipped) as skipped
    from skipped
    group by v
)

select
    a.rid as _rid,
    a.compressed + coalesce(s.skipped, 0) as _line
from accepted as a
asof left join steps as s on a.compressed > s.v;
