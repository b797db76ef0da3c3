-- grain: one row per run of customer_state after the change (a step of customer_snapshot, a temp
-- table): pieces that meet and have the same columns (by hash) joined into one row.
with marked as (
    -- pieces that meet and have the same columns form one run
    select
        customer_id,
        valid_from,
        valid_until,
        coalesce(
            lag(valid_until) over w + 1 <> valid_from or lag(attrs_hash) over w <> attrs_hash,
            true
        ) as starts_run
    from state_pieces
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
    inner join state_pieces as p on b.customer_id = p.customer_id and b.valid_from = p.valid_from
)

select * from merged
