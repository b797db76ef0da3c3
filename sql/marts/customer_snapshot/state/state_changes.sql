-- grain: one row per row of customer_state to delete or insert (a step of customer_snapshot, a temp
-- table) so that the stored days $start_date..$end_date hold the rows of snapshot_intervals and
-- every other stored day keeps its rows. The rows that touch the range are cut at its edges, the
-- new runs put in between, and runs with equal columns that meet are joined again; only what
-- differs from the stored rows is written. A night whose customers mostly did not change writes
-- only the few that did: their current row closes the day before and a new one opens.
-- $reach_date: the day before the first stored day after the range (9999-12-31: none); the new runs
-- that reach $end_date reach on to it, and only the part of a stored row after it is kept.
-- Rows are compared by a 64-bit hash of their stored columns (as in snapshot_intervals), so every
-- step below carries narrow columns; the columns themselves are read once, for the rows inserted.
with stored_all as (
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
),

fresh_all as (
    select
        customer_id,
        valid_from,
        valid_until,
        hash(attrs) as attrs_hash
    from snapshot_intervals
),

single_runs as (
    select customer_id
    from fresh_all
    group by customer_id
    having count(*) = 1
),

settled as (
    -- the customers whose one new run is already stored unchanged: a stored row with the same
    -- columns covers it (most customers on a night; a row may also cover days never computed).
    -- Their stored rows already hold the result: nothing to write
    select f.customer_id
    from fresh_all as f
    semi join single_runs as one on f.customer_id = one.customer_id
    inner join stored_all as o
        on
            f.customer_id = o.customer_id
            and o.valid_from <= f.valid_from
            and o.valid_until >= f.valid_until
    where
        f.valid_from = $start_date::date
        and f.attrs_hash = o.attrs_hash
        and (o.valid_until = f.valid_until or f.valid_until = $reach_date::date)
),

stored as (
    select s.*
    from stored_all as s
    anti join settled as x on s.customer_id = x.customer_id
),

fresh as (
    -- new runs of customers with stored rows to cut or join; the runs of customers without any
    -- (new customers, a first run) are inserted as they are
    select f.*
    from fresh_all as f
    semi join stored as s on f.customer_id = s.customer_id
),

pieces as (
    -- the part of a stored row before the range
    select
        customer_id,
        valid_from,
        least(valid_until, $start_date::date - 1) as valid_until,
        attrs_hash,
        'stored' as source,
        valid_from as source_from
    from stored
    where valid_from < $start_date::date
    union all
    select
        customer_id,
        valid_from,
        valid_until,
        attrs_hash,
        'fresh' as source,
        valid_from as source_from
    from fresh
    union all
    -- the part after it, when it still covers a stored day
    select
        customer_id,
        greatest(valid_from, $reach_date::date + 1) as valid_from,
        valid_until,
        attrs_hash,
        'stored' as source,
        valid_from as source_from
    from stored
    where valid_until > $reach_date::date
),

marked as (
    -- pieces that meet and have the same columns form one run
    select
        customer_id,
        valid_from,
        valid_until,
        coalesce(
            lag(valid_until) over w + 1 <> valid_from or lag(attrs_hash) over w <> attrs_hash,
            true
        ) as starts_run
    from pieces
    window w as (partition by customer_id order by valid_from)
),

runs as (
    select
        *,
        sum(starts_run::integer) over (
            partition by customer_id order by valid_from rows unbounded preceding
        ) as run
    from marked
),

merged as (
    -- each run with the columns of its first piece (where they are read from)
    select
        b.customer_id,
        b.valid_from,
        b.valid_until,
        p.attrs_hash,
        p.source,
        p.source_from
    from (
        select
            customer_id,
            min(valid_from) as valid_from,
            max(valid_until) as valid_until
        from runs
        group by customer_id, run
    ) as b
    inner join pieces as p on b.customer_id = p.customer_id and b.valid_from = p.valid_from
),

deleted as (
    select
        s.customer_id,
        s.valid_from
    from stored as s
    anti join merged as m
        on
            s.customer_id = m.customer_id
            and s.valid_from = m.valid_from
            and s.valid_until = m.valid_until
            and s.attrs_hash = m.attrs_hash
),

inserted as (
    select m.*
    from merged as m
    anti join stored as s
        on
            m.customer_id = s.customer_id
            and m.valid_from = s.valid_from
            and m.valid_until = s.valid_until
            and m.attrs_hash = s.attrs_hash
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
    from inserted as i
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
    from inserted as i
    inner join customer_state as c
        on i.customer_id = c.customer_id and i.source_from = c.valid_from
    where i.source = 'stored'
    union all
    -- customers without any stored row near the range
    select
        'insert' as op,
        f.customer_id,
        f.valid_from,
        f.valid_until,
        f.attrs
    from snapshot_intervals as f
    anti join stored_all as s on f.customer_id = s.customer_id
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
