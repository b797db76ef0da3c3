-- grain: one row per (row_type, cohort_month, k): row_type 'cohort' for each month of first
-- counted order, k = 0..11 months later; row_type 'average' (cohort_month NULL) is the
-- size-weighted average over the cohorts whose cell k is complete. share = customers of the
-- cohort with a counted order in month cohort_month + k, over the cohort size. Data up to the last
-- stored snapshot day; a cell whose month has not ended by then has is_complete = false.
with last_day as (
    select max(as_of) as last_day from snapshot_params
),

counted as (
    select o.customer_id, date_trunc('month', o.order_date)::date as order_month
    from stg_orders as o
    cross join last_day as l
    where o.is_counted and o.order_date <= l.last_day
),

cohorts as (
    select customer_id, min(order_month) as cohort_month
    from counted
    group by customer_id
),

sizes as (
    select cohort_month, count(*) as size from cohorts group by cohort_month
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
    where s.cohort_month + to_months(k.k::integer) <= l.last_day
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
    from cohort_rows
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
