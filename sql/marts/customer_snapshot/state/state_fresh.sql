-- grain: one row per (customer_id, valid_from) of snapshot_intervals (a step of customer_snapshot, a
-- temp table): the new runs, narrow, with the hash of their columns.
select
    customer_id,
    valid_from,
    valid_until,
    hash(attrs) as attrs_hash
from snapshot_intervals
-- one share of the customers (see state_stored)
where ($buckets = 1 or hash(customer_id) % $buckets = $bucket)
