-- A query source has no unparseable lines: its rejects table is empty, with the columns of
-- DuckDB's CSV rejects table that the loader reads.
create temp table ingest_rejects (
    line bigint,
    column_idx bigint,
    csv_line varchar,
    error_type varchar,
    error_message varchar
);
