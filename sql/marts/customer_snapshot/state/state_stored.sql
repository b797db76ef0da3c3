-- grain: one row per row of customer_state that overlaps $start_date..$reach_date or meets it at
-- either edge (a step of customer_snapshot, a temp table): its key, span and a 64-bit hash of its
-- stored columns (rows are compared by it; see state_changes.sql).
select
    customer_id,
    valid_from,
    coalesce(valid_to, date '9999-12-31') as valid_until,
    hash(
        struct_pack(*columns(* exclude (customer_id, valid_from, valid_to, written_at)))
    ) as attrs_hash
from customer_state
-- rows that overlap the range or meet it at either edge
where valid_from <= $reach_date::date + 1
    and coalesce(valid_to, date '9999-12-31') >= $start_date::date - 1
    -- a long range is folded one share of the customers at a time ($bucket of $buckets); with one
    -- share no customer_id is hashed (0.9 s of a night at 10 M orders)
    and ($buckets = 1 or hash(customer_id) % $buckets = $bucket)
    -- a carried night computes only the customers that can change (carry/snapshot_affected): the
    -- stored rows of the others already hold their day
    and (not $only_computed or customer_id in (select customer_id from snapshot_intervals))
