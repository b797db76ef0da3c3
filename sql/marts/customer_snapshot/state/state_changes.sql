-- grain: one row per row of customer_state to delete or insert (a step of customer_snapshot, a temp
-- table) so that the stored days $start_date..$end_date hold the rows of snapshot_intervals and
-- every other stored day keeps its rows. The rows that touch the range are cut at its edges, the
-- new runs put in between, and runs with equal columns that meet are joined again; only what
-- differs from the stored rows is written. A night whose customers mostly did not change writes
-- only the few that did: their current row closes the day before and a new one opens.
-- $reach_date: the day before the first stored day after the range (9999-12-31: none); the new runs
-- that reach $end_date reach on to it, and only the part of a stored row after it is kept.
-- Steps before it (temp tables, so that a long range spills to disk): state_stored, state_fresh,
-- state_settled, state_open and fresh_open (what is left once the settled customers are set aside:
-- a night's later steps scale with the customers that changed), state_pieces, state_merged,
-- state_inserted. Rows are compared by a 64-bit hash of their stored columns (as in
-- snapshot_intervals), so the steps carry narrow columns; the columns
-- themselves are read once, for the rows inserted.
with deleted as (
    select
        s.customer_id,
        s.valid_from
    from state_open as s
    anti join state_merged as m
        on
            s.customer_id = m.customer_id
            and s.valid_from = m.valid_from
            and s.valid_until = m.valid_until
            and s.attrs_hash = m.attrs_hash
),

changes as (
    select
        'delete' as op,
        customer_id,
        valid_from,
        null::date as valid_until,
        null as attrs
    from deleted
    union all
    select
        'insert' as op,
        i.customer_id,
        i.valid_from,
        i.valid_until,
        f.attrs
    from state_inserted as i
    inner join snapshot_intervals as f
        on i.customer_id = f.customer_id and i.source_from = f.valid_from
    where i.source = 'fresh'
    union all
    select
        'insert' as op,
        i.customer_id,
        i.valid_from,
        i.valid_until,
        struct_pack(
            *columns(c.* exclude (customer_id, valid_from, valid_to, written_at))
        ) as attrs
    from state_inserted as i
    inner join customer_state as c
        on i.customer_id = c.customer_id and i.source_from = c.valid_from
    where
        i.source = 'stored'
        -- as state_stored found them: the scan skips the rows that ended before the range
        -- instead of probing the join with the whole history
        and c.valid_from <= $reach_date::date + 1
        and coalesce(c.valid_to, date '9999-12-31') >= $start_date::date - 1
    union all
    -- customers without any stored row near the range (not settled, none in state_open)
    select
        'insert' as op,
        f.customer_id,
        f.valid_from,
        f.valid_until,
        f.attrs
    from (
        select fo.*
        from fresh_open as fo
        anti join state_open as so on fo.customer_id = so.customer_id
    ) as n
    inner join snapshot_intervals as f
        on n.customer_id = f.customer_id and n.valid_from = f.valid_from
),

final as (
    select
        op,
        customer_id,
        valid_from,
        nullif(valid_until, date '9999-12-31') as valid_to,
        $computed_at::timestamp as written_at,
        attrs
    from changes
)

select * from final
