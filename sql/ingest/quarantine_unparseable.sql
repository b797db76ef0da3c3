-- The lines of the file being loaded that the CSV reader could not parse, one quarantine row per
-- line, with the reader's first error and the raw line as the record.
insert into quarantine (
    load_id, source, file_name, line, line_count, reason_code, column_name, reason, record,
    quarantined_at
)
select
    $load_id,
    $kind,
    $file,
    line,
    1,
    'unparseable_line',
    null,
    'unparseable line: ' || split_part(error_message, chr(10), 1),
    to_json(struct_pack(line := csv_line)),
    $now
from (
    select
        line,
        arg_min(error_message, column_idx) as error_message,
        any_value(csv_line) as csv_line
    from ingest_rejects
    group by line
) as by_line;
