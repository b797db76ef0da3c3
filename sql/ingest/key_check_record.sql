-- The <kind>_keys_unique_not_null check passed up to load $verified_through.
insert or replace into key_check_state
values ($source, $verified_through, current_timestamp);
