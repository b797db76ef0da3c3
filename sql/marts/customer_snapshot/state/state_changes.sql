-- grain: one row per row of customer_state to delete or insert (a step of customer_snapshot, a temp
-- table) so that the stored days $start_date..$end_date hold the rows of snapshot_intervals and
-- every other stored day keeps its rows. The rows that touch the range are cut at its edges, the
-- new runs put in between, and runs with equal columns that meet are joined again; only what
-- differs from the stored rows is written. A night whose customers mostly did not change writes
-- only the few that did: their current row closes the day before and a new one opens.
-- $reach_date: the day before the first stored day after the range (9999-12-31: none); the new runs
-- that reach $end_date reach on to it, and only the part of a stored row after it is kept.
with stored_all as (
    select
        customer_id,
        valid_from,
        coalesce(valid_to, date '9999-12-31') as valid_until,
        struct_pack(*columns(* exclude (customer_id, valid_from, valid_to, written_at))) as attrs
    from customer_state
    -- rows that overlap the range or meet it at either edge
    where valid_from <= $reach_date::date + 1
        and coalesce(valid_to, date '9999-12-31') >= $start_date::date - 1
),

single_runs as (
    select customer_id
    from snapshot_intervals
    group by customer_id
    having count(*) = 1
),

settled as (
    -- the customers whose one new run is already stored unchanged: a stored row with the same
    -- columns covers it (most customers on a night; a row may also cover days never computed).
    -- Their stored rows already hold the result: nothing to write
    select f.customer_id
    from snapshot_intervals as f
    semi join single_runs as one on f.customer_id = one.customer_id
    inner join stored_all as o
        on
            f.customer_id = o.customer_id
            and o.valid_from <= f.valid_from
            and o.valid_until >= f.valid_until
    where
        f.valid_from = $start_date::date
        and f.attrs = o.attrs
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
    from snapshot_intervals as f
    semi join stored as s on f.customer_id = s.customer_id
),

pieces as (
    -- the part of a stored row before the range
    select
        customer_id,
        valid_from,
        least(valid_until, $start_date::date - 1) as valid_until,
        hash(attrs) as attrs_hash,
        attrs
    from stored
    where valid_from < $start_date::date
    union all
    select
        customer_id,
        valid_from,
        valid_until,
        hash(attrs) as attrs_hash,
        attrs
    from fresh
    union all
    -- the part after it, when it still covers a stored day
    select
        customer_id,
        greatest(valid_from, $reach_date::date + 1) as valid_from,
        valid_until,
        hash(attrs) as attrs_hash,
        attrs
    from stored
    where valid_until > $reach_date::date
),

marked as (
    -- pieces that meet and have the same columns (compared by their 64-bit hash, as in
    -- snapshot_intervals) form one run; the sort carries narrow columns only
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
    -- each run with the columns of its first piece
    select
        b.customer_id,
        b.valid_from,
        b.valid_until,
        p.attrs_hash,
        p.attrs
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

stored_hashed as (
    select
        *,
        hash(attrs) as attrs_hash
    from stored
),

changes as (
    select
        'delete' as op,
        s.customer_id,
        s.valid_from,
        s.valid_until,
        s.attrs
    from stored_hashed as s
    anti join merged as m
        on
            s.customer_id = m.customer_id
            and s.valid_from = m.valid_from
            and s.valid_until = m.valid_until
            and s.attrs_hash = m.attrs_hash
            and s.attrs = m.attrs
    union all
    select
        'insert' as op,
        m.customer_id,
        m.valid_from,
        m.valid_until,
        m.attrs
    from merged as m
    anti join stored_hashed as s
        on
            m.customer_id = s.customer_id
            and m.valid_from = s.valid_from
            and m.valid_until = s.valid_until
            and m.attrs_hash = s.attrs_hash
            and m.attrs = s.attrs
    union all
    select
        'insert' as op,
        customer_id,
        valid_from,
        valid_until,
        attrs
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
