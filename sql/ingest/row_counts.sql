-- The record counts of the unit being loaded, for its row accounting: records the reader accepted
-- (rows of a query's result), lines it rejected, and input records behind the mapped rows (fewer
-- than accepted when the mapping's filter leaves some out).
select
    (select count(*) from ingest_raw) as parsed_rows,
    (select count(distinct line) from ingest_rejects) as rejected_lines,
    (select coalesce(sum(_line_count), 0) from ingest_typed) as mapped_lines;
