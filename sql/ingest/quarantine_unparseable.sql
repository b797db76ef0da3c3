-- The lines of the file being loaded that the CSV reader could not parse, one quarantine row per
-- line, with the reader's first error and the raw line as the record: bytes not valid in the
-- file's encoding are `bad_encoding`, a line longer than the reader's maximum line size is
-- `too_long` (its record cut to $max_chars characters), anything else `unparseable_line`. The
-- reader's raw line starts with the line breaks before it (the LF of a CRLF ending, blank lines):
-- those are left out, nothing else.
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
    case error_type
        when 'INVALID ENCODING' then 'bad_encoding'
        when 'LINE SIZE OVER MAXIMUM' then 'too_long'
        else 'unparseable_line'
    end,
    null,
    case error_type
        when 'INVALID ENCODING'
            then 'bytes not valid in the file''s encoding (reader.encoding)'
        when 'LINE SIZE OVER MAXIMUM'
            then 'line too long: ' || split_part(error_message, chr(10), 1)
        else
            'unparseable line: '
            || coalesce(split_part(error_message, chr(10), 1), error_type, 'unknown error')
    end,
    to_json(struct_pack(line := left(csv_line, $max_chars))),
    $now
from (
    select
        line,
        -- a line-level error has no column index
        arg_min(error_message, coalesce(column_idx, 0)) as error_message,
        arg_min(error_type, coalesce(column_idx, 0))::varchar as error_type,
        ltrim(any_value(csv_line), chr(13) || chr(10)) as csv_line
    from ingest_rejects
    group by line
) as by_line;
