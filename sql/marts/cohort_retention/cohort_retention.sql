-- grain: one row per (row_type, cohort_month, k): row_type 'cohort' for each month of first
-- counted order, k = 0..11 months later; row_type 'average' (cohort_month NULL) is the
-- size-weighted average over the cohorts whose cell k is complete. share = customers of the
-- cohort with a counted order in month cohort_month + k, over the cohort size. Data up to the last
-- stored snapshot day; a cell whose month has not ended by then has is_complete = false.
-- Built incrementally: this computes the cohort cells whose activity month is $since (a month's
-- first day) or later, and every average row. The cells before $since are the stored ones
-- (cohort_retention_before.sql), and so are the sizes of the cohorts before $since (their k = 0
-- cells). A full build passes the first representable day.
with last_day as (
    select max(as_of) as last_day from snapshot_params
),

counted as (
    -- the counted orders of the months from $since on (bounded on ordered_at, not on the date
    -- derived from it, so that its zone maps skip the older history)
    select o.customer_id, date_trunc('month', o.order_date)::date as order_month
    from stg_orders as o
    cross join last_day as l
    where
        o.is_counted
        and o.ordered_at >= $since::date::timestamp
        and o.order_date <= l.last_day
),

first_recent as (
    select customer_id, min(order_month) as first_month
    from counted
    group by customer_id
),

-- of those customers, the ones whose first counted order is before $since: their cohort is older.
-- Their first counted order is customer_state's first_order_at on the last stored day (the same
-- orders, counted the same way), read from the state's current rows (valid_to null: those holding
-- on the last stored day, where every customer with a counted order up to it has one; a constant
-- filter, so the closed history is not read), not by probing every order before $since for them,
-- which grows with the history (0.45 s of 0.67 s at 10 M orders)
first_before as (
    select s.customer_id, date_trunc('month', s.first_order_at::date)::date as first_month
    from customer_state as s
    -- (not aliased `r`: Spark would read r.customer_id as a field of the state's column r)
    semi join first_recent as recent on s.customer_id = recent.customer_id
    where s.valid_to is null and s.first_order_at < $since::date::timestamp
),

cohorts as (
    select r.customer_id, coalesce(b.first_month, r.first_month) as cohort_month
    from first_recent as r
    left join first_before as b on r.customer_id = b.customer_id
),

stored_cells as (
    select * from cohort_retention
    where row_type = 'cohort' and activity_month < $since
),

sizes as (
    select cohort_month, size from stored_cells where k = 0
    union all
    select cohort_month, count(*) as size
    from cohorts
    where cohort_month >= $since
    group by cohort_month
),

cells as (
    select
        s.cohort_month,
        s.size,
        k.k::integer as k,
        (s.cohort_month + to_months(k.k::integer))::date as activity_month
    from sizes as s
    cross join range(0, 12) as k (k)
    cross join last_day as l
    where
        s.cohort_month + to_months(k.k::integer) <= l.last_day
        and s.cohort_month + to_months(k.k::integer) >= $since
),

active as (
    select c.cohort_month, m.order_month, count(distinct m.customer_id) as active_count
    from cohorts as c
    inner join counted as m on c.customer_id = m.customer_id
    group by all
),

cohort_rows as (
    select
        'cohort' as row_type,
        c.cohort_month,
        c.k,
        c.activity_month,
        c.size,
        coalesce(a.active_count, 0) as active_count,
        coalesce(a.active_count, 0) / c.size as share,
        (c.activity_month + interval 1 month)::date - 1 <= l.last_day as is_complete
    from cells as c
    cross join last_day as l
    left join active as a
        on c.cohort_month = a.cohort_month and c.activity_month = a.order_month
),

every_cell as (
    select row_type, cohort_month, k, activity_month, size, active_count, share, is_complete
    from stored_cells
    union all
    select * from cohort_rows
),

average_rows as (
    select
        'average' as row_type,
        null::date as cohort_month,
        k,
        null::date as activity_month,
        sum(size)::bigint as size,
        sum(active_count)::bigint as active_count,
        sum(active_count) / sum(size) as share,
        true as is_complete
    from every_cell
    where is_complete
    group by k
),

final as (
    select * from cohort_rows
    union all
    select * from average_rows
)

select * from final
order by row_type desc, cohort_month asc, k asc
