-- The newest load of one kind whose rows the <kind>_keys_unique_not_null check has verified (0
-- before the first check).
select coalesce(max(verified_through), 0) as verified_through
from key_check_state
where source = $source;
