-- grain: one row per (customer_id, valid_from) of snapshot_intervals: the rows of customer_state for
-- a range $start_date..$end_date when no stored row touches it (a first run, or a range far from
-- every stored one): each run as it is, reaching to $reach_date, written straight into the state
-- (nothing stored to cut or join; as state_changes.sql would insert them).
-- (the struct's fields by `attrs.*`, which sqlfluff reads as a qualified star)
-- noqa: disable=RF03
select
    customer_id,
    valid_from,
    nullif(valid_until, date '9999-12-31') as valid_to,
    attrs.*,
    $computed_at::timestamp as written_at
from snapshot_intervals
