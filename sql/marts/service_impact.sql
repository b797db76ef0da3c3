-- grain: one row per (period_type, period_start, priority), priority in urgent, important, general and 'all'.
-- Service -> loyalty impact (docs/metrics.md, "service_impact"): per period of the ticket's day,
-- customers whose ticket breached its SLA vs customers whose tickets met it, compared on what
-- happened in the $window_days days after the ticket's day: re-ordered (share), counted orders and
-- their value, and the next NPS answer. One unit per (period, priority, customer): breached when
-- any of the customer's tickets of the period breached; its index ticket is the first breached
-- one, else the first met one. Only tickets judged (met or breached as of the end of the last
-- stored snapshot day) whose window has fully elapsed by then count; the others are pending.
-- Like with like: strata = (tier, lifecycle_stage) of the customer's snapshot on the index
-- ticket's day; both groups are weighted to the combined mix of the strata where both occur
-- (direct standardisation); the difference of the standardised shares carries a 95 % normal
-- interval (cut to -1..1). An association, not proof.
-- A period's row changes while the windows of its tickets elapse and their SLA verdicts fall:
-- loyalty.marts.insight passes $since so that those periods and the ones whose data changed are
-- recomputed, the others are kept as stored.
with periods as (
    -- every reported period, or in an incremental build those ending on or after $since
    select * from report_periods
    where end_as_of >= $since
),

judged as (
    -- the last stored snapshot day (snapshot_params: one row per stored day)
    select max(as_of) as last_day, (max(as_of) + 1)::timestamp as judged_at
    from snapshot_params
),

tickets as (
    select
        t.ticket_id,
        t.customer_id,
        t.opened_at,
        t.opened_date,
        t.priority,
        t.is_resolved_in_sla and t.resolved_at < j.judged_at as is_met,
        t.deadline_at < j.judged_at and not t.is_resolved_in_sla as is_breached,
        t.opened_date + $window_days::integer <= j.last_day as window_elapsed
    from stg_tickets as t
    cross join judged as j
),

period_tickets as (
    select p.period_type, p.period_start, t.*
    from periods as p
    inner join tickets as t on t.opened_date between p.period_start and p.end_as_of
),

ticket_rows as (
    select * from period_tickets
    union all
    select * replace ($all_key as priority) from period_tickets
),

ticket_counts as (
    select
        period_type,
        period_start,
        priority,
        count(*) as tickets,
        count(*) filter (where not (window_elapsed and (is_met or is_breached))) as tickets_pending
    from ticket_rows
    group by all
),

-- the index ticket of each (period, priority, customer): breached ones first, then the earliest
index_tickets as (
    select *
    from ticket_rows
    where window_elapsed and (is_met or is_breached)
    qualify row_number() over (
        partition by period_type, period_start, priority, customer_id
        order by is_breached desc, opened_at asc, ticket_id asc
    ) = 1
),

-- each index ticket's (customer, day) once: a ticket is the index of its week's, month's and
-- quarter's units, for its priority and 'all', and its snapshot, orders and next answer depend on
-- the customer and the day (and time) only, so they are read once per ticket, not once per unit
unit_days as (
    select distinct customer_id, opened_date
    from index_tickets
),

day_strata as (
    select
        d.customer_id,
        d.opened_date,
        s.tier,
        s.lifecycle_stage
    from unit_days as d
    -- customer_snapshot on the ticket's day, read from the state it is stored in (a join with the
    -- view would expand every stored day): the row whose interval holds that day, on a stored day
    left join snapshot_params as p on d.opened_date = p.as_of
    left join (
        -- no ticket day read is before the first period's start ($states_from is the day before
        -- it): a bound value, so the scan keeps only the rows holding on or after it
        select customer_id, valid_from, valid_to, tier, lifecycle_stage
        from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on
            p.as_of is not null
            and d.customer_id = s.customer_id
            and d.opened_date >= s.valid_from
            and d.opened_date <= coalesce(s.valid_to, date '9999-12-31')
),

units as (
    select
        i.period_type,
        i.period_start,
        i.priority,
        i.customer_id,
        i.opened_at,
        i.opened_date,
        i.is_breached as breached,
        d.tier,
        d.lifecycle_stage
    from index_tickets as i
    inner join day_strata as d
        on i.customer_id = d.customer_id and i.opened_date = d.opened_date
),

outside as (
    select period_type, period_start, priority, count(*) as customers_outside_population
    from units
    where tier is null
    group by all
),

-- the counted orders in each index ticket's window (inner: the join builds on the tickets' days,
-- not on the orders)
day_orders as (
    select
        d.customer_id,
        d.opened_date,
        count(*) as orders,
        sum(o.value) as order_value
    from day_strata as d
    inner join (
        -- the orders from the first period's start on: a bound value, so the ordered_at zone maps
        -- skip the older history (every order was scanned and probed: 1.9 s of CPU at 10 M
        -- orders for a night's periods)
        select customer_id, order_date, value from stg_orders
        where is_counted and ordered_at >= $orders_from::date::timestamp
    ) as o
        on o.customer_id = d.customer_id
        and o.order_date > d.opened_date
        and o.order_date <= d.opened_date + $window_days::integer
    where d.tier is not null
    group by all
),

window_orders as (
    select
        u.period_type,
        u.period_start,
        u.priority,
        u.customer_id,
        coalesce(o.orders, 0) as orders,
        coalesce(o.order_value, 0) as order_value
    from units as u
    left join day_orders as o
        on u.customer_id = o.customer_id and u.opened_date = o.opened_date
    where u.tier is not null
),

-- the next answer after each index ticket (its customer and time, once)
ticket_times as (
    select distinct customer_id, opened_at, opened_date
    from units
    where tier is not null
),

time_nps as (
    select
        t.customer_id,
        t.opened_at,
        arg_min(r.nps_group, (r.responded_at, r.response_id)) as nps_group
    from ticket_times as t
    inner join stg_surveys as r
        on r.customer_id = t.customer_id
        and r.nps is not null
        and r.responded_at > t.opened_at
        and r.response_date <= t.opened_date + $window_days::integer
    group by all
),

next_nps as (
    select
        u.period_type,
        u.period_start,
        u.priority,
        u.customer_id,
        n.nps_group
    from units as u
    inner join time_nps as n
        on u.customer_id = n.customer_id and u.opened_at = n.opened_at
),

outcomes as (
    select
        u.period_type,
        u.period_start,
        u.priority,
        u.tier,
        u.lifecycle_stage,
        u.breached,
        w.orders,
        w.order_value,
        w.orders > 0 as reordered,
        n.nps_group
    from units as u
    inner join window_orders as w
        on u.period_type = w.period_type
        and u.period_start = w.period_start
        and u.priority = w.priority
        and u.customer_id = w.customer_id
    left join next_nps as n
        on u.period_type = n.period_type
        and u.period_start = n.period_start
        and u.priority = n.priority
        and u.customer_id = n.customer_id
),

raw as (
    select
        period_type,
        period_start,
        priority,
        count(*) filter (where breached) as breached_customers,
        count(*) filter (where not breached) as met_customers,
        count(*) filter (where breached and reordered) as breached_reordered,
        count(*) filter (where not breached and reordered) as met_reordered,
        coalesce(sum(orders) filter (where breached), 0) as breached_orders,
        coalesce(sum(orders) filter (where not breached), 0) as met_orders,
        coalesce(sum(order_value) filter (where breached), 0) as breached_value,
        coalesce(sum(order_value) filter (where not breached), 0) as met_value,
        count(nps_group) filter (where breached) as breached_nps_n,
        count(*) filter (where breached and nps_group = 'promoter') as breached_promoters,
        count(*) filter (where breached and nps_group = 'detractor') as breached_detractors,
        count(nps_group) filter (where not breached) as met_nps_n,
        count(*) filter (where not breached and nps_group = 'promoter') as met_promoters,
        count(*) filter (where not breached and nps_group = 'detractor') as met_detractors
    from outcomes
    group by all
),

strata as (
    select
        period_type,
        period_start,
        priority,
        tier,
        lifecycle_stage,
        count(*) filter (where breached) as n_b,
        count(*) filter (where not breached) as n_m,
        avg(reordered::integer) filter (where breached) as p_b,
        avg(reordered::integer) filter (where not breached) as p_m,
        avg(orders) filter (where breached) as orders_b,
        avg(orders) filter (where not breached) as orders_m,
        avg(order_value) filter (where breached) as value_b,
        avg(order_value) filter (where not breached) as value_m
    from outcomes
    group by all
),

-- strata where both groups occur, weighted by their combined size
common as (
    select
        *,
        (n_b + n_m)
        / sum(n_b + n_m) over (partition by period_type, period_start, priority) as w
    from strata
    where n_b > 0 and n_m > 0
),

adjusted as (
    select
        period_type,
        period_start,
        priority,
        sum(n_b + n_m) as matched_customers,
        count(*) as strata,
        sum(w * p_b) as breached_reorder_rate_adj,
        sum(w * p_m) as met_reorder_rate_adj,
        sum(w * w * p_b * (1 - p_b) / n_b) + sum(w * w * p_m * (1 - p_m) / n_m) as diff_variance,
        sum(w * orders_b) as breached_orders_per_customer_adj,
        sum(w * orders_m) as met_orders_per_customer_adj,
        sum(w * value_b) as breached_value_per_customer_adj,
        sum(w * value_m) as met_value_per_customer_adj
    from common
    group by all
),

grid as (
    select p.*, k.priority
    from periods as p
    cross join (select unnest($priority_keys) as priority) as k
),

final as (
    select
        g.period_type,
        g.period_start,
        g.priority,
        $window_days::integer as window_days,
        coalesce(c.tickets, 0) as tickets,
        coalesce(c.tickets_pending, 0) as tickets_pending,
        coalesce(o.customers_outside_population, 0) as customers_outside_population,
        coalesce(r.breached_customers, 0) as breached_customers,
        coalesce(r.met_customers, 0) as met_customers,
        coalesce(r.breached_reordered, 0) as breached_reordered,
        coalesce(r.met_reordered, 0) as met_reordered,
        r.breached_reordered / nullif(r.breached_customers, 0) as breached_reorder_rate,
        r.met_reordered / nullif(r.met_customers, 0) as met_reorder_rate,
        r.breached_reordered / nullif(r.breached_customers, 0)
        - r.met_reordered / nullif(r.met_customers, 0) as reorder_rate_diff,
        coalesce(a.matched_customers, 0) as matched_customers,
        coalesce(a.strata, 0) as strata,
        a.breached_reorder_rate_adj,
        a.met_reorder_rate_adj,
        a.breached_reorder_rate_adj - a.met_reorder_rate_adj as reorder_rate_diff_adj,
        -- a difference of two shares lies within -1..1: the interval is cut there (greatest and
        -- least skip NULL, so no matched difference stays NULL explicitly)
        case when a.diff_variance is not null
                then greatest(
                    a.breached_reorder_rate_adj - a.met_reorder_rate_adj
                    - 1.96 * sqrt(a.diff_variance),
                    -1
                )
        end as diff_low95,
        case when a.diff_variance is not null
                then least(
                    a.breached_reorder_rate_adj - a.met_reorder_rate_adj
                    + 1.96 * sqrt(a.diff_variance),
                    1
                )
        end as diff_high95,
        coalesce(r.breached_orders, 0) as breached_orders,
        coalesce(r.met_orders, 0) as met_orders,
        coalesce(r.breached_value, 0) as breached_value,
        coalesce(r.met_value, 0) as met_value,
        a.breached_orders_per_customer_adj,
        a.met_orders_per_customer_adj,
        a.breached_value_per_customer_adj,
        a.met_value_per_customer_adj,
        coalesce(r.breached_nps_n, 0) as breached_nps_n,
        100 * (r.breached_promoters - r.breached_detractors)
        / nullif(r.breached_nps_n, 0) as breached_next_nps,
        coalesce(r.met_nps_n, 0) as met_nps_n,
        100 * (r.met_promoters - r.met_detractors) / nullif(r.met_nps_n, 0) as met_next_nps,
        g.period_end,
        g.end_as_of,
        g.is_complete
    from grid as g
    left join ticket_counts as c
        on g.period_type = c.period_type
        and g.period_start = c.period_start
        and g.priority = c.priority
    left join outside as o
        on g.period_type = o.period_type
        and g.period_start = o.period_start
        and g.priority = o.priority
    left join raw as r
        on g.period_type = r.period_type
        and g.period_start = r.period_start
        and g.priority = r.priority
    left join adjusted as a
        on g.period_type = a.period_type
        and g.period_start = a.period_start
        and g.priority = a.priority
)

select * from final
order by period_type, period_start, priority
