-- grain: one row (a step of the check snapshot_tiers_and_segments_partition_population, a temp
-- table): the rows of customer_state the latest run wrote, and how many of them overlap another row
-- of the same customer (which would put that customer twice on a day of customer_snapshot). Only
-- written rows can introduce an overlap, so only they are compared, and only with the rows that
-- hold on a day from $reach_from on: the run's first day minus one, or the earliest end of a written
-- row if one ends before it ($reach_from, computed by loyalty.marts.checks). A row left alone that
-- ends before that can meet a written row only on days before the run, which the run did not
-- compute: there the written row covers what the stored row it replaced covered (the fold cuts and
-- joins rows at the edges of its days, it never moves a row's start), and that stored row was
-- compared with it when either was written. The filter is a constant the scan applies to one date
-- column: the check reads the recent rows, not the whole history (1.0 s against 0.15 s at 10 M
-- orders with a year of history).
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
    inner join (
        select customer_id, valid_from, valid_to
        from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $reach_from::date
    ) as s
        on
            w.customer_id = s.customer_id
            and w.valid_from <> s.valid_from
            and w.valid_from <= coalesce(s.valid_to, date '9999-12-31')
            and s.valid_from <= w.valid_until
)

select
    (select count(*) from written) as rows_written,
    (select count(*) from overlapping) as overlapping_rows
