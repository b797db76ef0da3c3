-- grain: one row per row of customer_state to delete or insert (a step of customer_snapshot, a temp
-- table named state_changes, with state_changes.sql's columns): the fold of a carried night, when
-- every stored row of the day before is still open, none starts later and no day after
-- $start_date = $end_date is stored (loyalty.marts.snapshot: `_night_fold`). Then each computed
-- customer (snapshot_intervals: one run from $start_date on, reaching every later day) either keeps
-- its current row (the same columns, by the hash state_changes.sql compares), or that row closes
-- the day before and the new one opens; a customer without a current row gets the new one. These
-- are the rows state_changes.sql writes in that case, in one step instead of eight.
with stored as (
    -- the computed customers' current rows (the closed table's zone maps skip its rows: none is
    -- current) and their stored columns, as state_stored.sql and state_changes.sql read them
    -- (no alias r, f or m: Spark reads `f.x` as a field of customer_state's column f)
    select
        c.customer_id,
        c.valid_from,
        struct_pack(
            *columns(c.* exclude (customer_id, valid_from, valid_to, written_at))
        ) as attrs
    from customer_state as c
    semi join snapshot_intervals as nr on c.customer_id = nr.customer_id
    where c.valid_to is null
),

changed as (
    -- the customers whose new run differs from their current row (compared by the hash
    -- state_changes.sql compares), or who have none
    select
        nr.customer_id,
        s.valid_from as stored_from,
        s.attrs as stored_attrs
    from snapshot_intervals as nr
    left join stored as s on nr.customer_id = s.customer_id
    where s.customer_id is null or hash(s.attrs) <> hash(nr.attrs)
),

changes as (
    select
        'delete' as op,
        customer_id,
        stored_from as valid_from,
        null::date as valid_to,
        null as attrs
    from changed
    where stored_from is not null
    union all
    -- the current row again, closed the day before
    select
        'insert' as op,
        customer_id,
        stored_from as valid_from,
        $start_date::date - 1 as valid_to,
        stored_attrs as attrs
    from changed
    where stored_from is not null
    union all
    -- the new run, open
    select
        'insert' as op,
        nr.customer_id,
        nr.valid_from,
        null::date as valid_to,
        nr.attrs
    from snapshot_intervals as nr
    semi join changed as x on nr.customer_id = x.customer_id
)

select
    op,
    customer_id,
    valid_from,
    valid_to,
    $computed_at::timestamp as written_at,
    attrs
from changes
