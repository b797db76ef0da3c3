-- The <kind>_keys_unique_not_null check passed up to load $verified_through (run in one
-- transaction: the source's row replaced).
delete from key_check_state where source = $source;

insert into key_check_state
values ($source, $verified_through, current_timestamp);
