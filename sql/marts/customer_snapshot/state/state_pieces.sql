-- grain: one row per piece (a step of customer_snapshot, a temp table): the parts of the stored rows
-- before and after the range and the new runs, for the customers not settled — those whose one new
-- run is already stored unchanged (most customers on a night) are left out: nothing to write.
-- source/source_from: where a piece's columns are read from when it is inserted.
with stored as (
    select * from state_open
),

fresh as (
    -- new runs of customers with stored rows to cut or join; the runs of customers without any
    -- (new customers, a first run) are inserted as they are
    select f.*
    from fresh_open as f
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
)

select * from pieces
