-- grain: one row per row of customer_state to delete or insert (a step of customer_snapshot, a temp
-- table) so that the stored days $start_date..$end_date hold the rows of snapshot_intervals and
-- every other stored day keeps its rows. The rows that touch the range are cut at its edges, the
-- new runs put in between, and runs with equal columns that meet are joined again; only what
-- differs from the stored rows is written. A night whose customers mostly did not change writes
-- only the few that did: their current row closes the day before and a new one opens.
-- $next_stored: the first stored day after the range (null: none), the only reason to keep the
-- part of a row after the range.
with stored_all as (
    select
        customer_id,
        valid_from,
        coalesce(valid_to, date '9999-12-31') as valid_until,
        struct_pack(*columns(* exclude (customer_id, valid_from, valid_to, written_at))) as attrs
    from customer_state
    -- rows that overlap the range or meet it at either edge
    where valid_from <= $end_date::date + 1
        and coalesce(valid_to, date '9999-12-31') >= $start_date::date - 1
),

settled as (
    -- the customers with one new run and one stored row that it continues unchanged (most of them
    -- on a night): their stored row is already the result, nothing to write
    select f.customer_id
    from snapshot_intervals as f
    inner join stored_all as o on f.customer_id = o.customer_id
    group by f.customer_id
    having
        count(*) = 1
        and bool_and(
            f.attrs = o.attrs
            and f.valid_from = $start_date::date
            and o.valid_from <= $start_date::date
            and (
                f.valid_until = o.valid_until
                or (f.valid_until = $end_date::date and o.valid_until >= $next_stored::date)
            )
        )
),

stored as (
    select * from stored_all
    where customer_id not in (select customer_id from settled)
),

fresh as (
    -- new runs of customers with stored rows to cut or join; the runs of customers without any
    -- (new customers, a first run) are inserted as they are
    select * from snapshot_intervals
    where
        customer_id in (select customer_id from stored)
        and customer_id not in (select customer_id from settled)
),

pieces as (
    -- the part of a stored row before the range
    select
        customer_id,
        valid_from,
        least(valid_until, $start_date::date - 1) as valid_until,
        attrs
    from stored
    where valid_from < $start_date::date
    union all
    select
        customer_id,
        valid_from,
        valid_until,
        attrs
    from fresh
    union all
    -- the part after it, when it still covers a stored day
    select
        customer_id,
        greatest(valid_from, $end_date::date + 1) as valid_from,
        valid_until,
        attrs
    from stored
    where valid_until > $end_date::date and valid_until >= $next_stored::date
),

marked as (
    select
        *,
        coalesce(
            lag(valid_until) over w + 1 <> valid_from or lag(attrs) over w <> attrs, true
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
    select
        customer_id,
        min(valid_from) as valid_from,
        max(valid_until) as valid_until,
        any_value(attrs) as attrs
    from runs
    group by customer_id, run
),

changes as (
    select
        'delete' as op,
        s.customer_id,
        s.valid_from,
        s.valid_until,
        s.attrs
    from stored as s
    anti join merged as m
        on
            s.customer_id = m.customer_id
            and s.valid_from = m.valid_from
            and s.valid_until = m.valid_until
            and s.attrs = m.attrs
    union all
    select
        'insert' as op,
        m.customer_id,
        m.valid_from,
        m.valid_until,
        m.attrs
    from merged as m
    anti join stored as s
        on
            m.customer_id = s.customer_id
            and m.valid_from = s.valid_from
            and m.valid_until = s.valid_until
            and m.attrs = s.attrs
    union all
    select
        'insert' as op,
        customer_id,
        valid_from,
        valid_until,
        attrs
    from snapshot_intervals
    where customer_id not in (select customer_id from stored_all)
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
