-- grain: one row per customer_id (a step of customer_snapshot, a temp table named
-- snapshot_intervals): snapshot_intervals.sql for a run of one day $start_date = $end_date, where
-- every row of snapshot_rows is a run of its own, reaching to $reach_date (see snapshot_intervals).
select
    customer_id,
    as_of as valid_from,
    $reach_date::date as valid_until,
    struct_pack(
        *columns(* exclude (as_of, customer_id, recency_days, tenure_days, drop_history_days))
    ) as attrs
from snapshot_rows
