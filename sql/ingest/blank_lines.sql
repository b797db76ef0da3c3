-- The blank lines of the file being loaded, numbered as the CSV reader numbers lines
-- (pipeline/ingest/blanklines.py finds them; `blank_line_numbers` is their registered array).
create temp table ingest_blank_lines as
select line::bigint as line
from blank_line_numbers;
