-- grain: one row (a step of the check snapshot_tiers_and_segments_partition_population, a temp
-- table): the rows of customer_state the latest run wrote, and how many of them overlap another row
-- of the same customer (which would put that customer twice on a day of customer_snapshot). Only
-- written rows can introduce an overlap, so only they are compared.
with written as (
    select
        customer_id,
        valid_from,
        coalesce(valid_to, date '9999-12-31') as valid_until
    from customer_state
    where written_at = (select max(computed_at) from snapshot_params)
),

overlapping as (
    select w.customer_id
    from written as w
    inner join customer_state as s
        on
            w.customer_id = s.customer_id
            and w.valid_from <> s.valid_from
            and w.valid_from <= coalesce(s.valid_to, date '9999-12-31')
            and s.valid_from <= w.valid_until
)

select
    (select count(*) from written) as rows_written,
    (select count(*) from overlapping) as overlapping_rows
