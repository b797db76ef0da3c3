-- grain: one row per customer_id: the rows of customer_state for a one-day run $start_date when no
-- stored row touches the day (the first run, or a day far from every stored one): each customer's
-- row of snapshot_rows as it is, reaching to $reach_date, written straight into the state (no runs
-- to find, nothing to cut or join).
select
    * exclude (as_of, recency_days, tenure_days, drop_history_days),
    as_of as valid_from,
    nullif($reach_date::date, date '9999-12-31') as valid_to,
    $computed_at::timestamp as written_at
from snapshot_rows
