-- grain: one row per day as_of of kpi_days that is a stored snapshot day (a step of kpi_daily, a
-- temp table): the customer counts the board's order KPIs need, counted from customer_state's
-- intervals, not customer by customer and day by day (a first run's board at CDNOW size read
-- 10 M customer-days). Each count is over the day's population (its snapshot) with the window
-- start's row of the same customer (orders/kpi_counts.sql counts the same from the orders):
--   churn_n / churned      active at the window start / and not on the day
--   tier_a_n / tier_a_kept active at the window start in tier A / and active on the day
--   tier_d_n / tier_d_activated  in the window start's population in tier D / with an order since
--   buyers / repeat_buyers counted orders in (window_start, as_of] (lifetime_orders' difference)
-- A window start that is not a stored day has no rows: no customer has a start then.
-- How: a row of the day (an "end" row, covering end days from..to) meets the row of the window
-- start in pieces of days over which both rows hold; each piece adds its counts on its first day
-- and takes them away the day after its last; a running sum over the days gives each day's counts.
with days as (
    select
        k.as_of,
        k.window_start in (select ws.as_of from snapshot_params as ws) as start_stored
    from kpi_days as k
    semi join snapshot_params as sp on k.as_of = sp.as_of
),

span as (
    select min(as_of) as first_day, max(as_of) as last_day from days
),

-- the rows of the days: first bounded by the days' range ($start_date - 7 .. $end_date,
-- kpi_days.sql), constants the scan applies to two date columns (the history before is not read),
-- then clipped to the days computed (a night: one)
ends as (
    select
        s.customer_id,
        s.valid_from,
        greatest(s.valid_from, span.first_day) as from_day,
        least(coalesce(s.valid_to, date '9999-12-31'), span.last_day) as to_day,
        s.first_order_at::date as first_order_date,
        s.is_active,
        s.lifetime_orders,
        s.tier
    from customer_state as s
    cross join span
    where
        s.valid_from <= $end_date::date
        and coalesce(s.valid_to, date '9999-12-31') >= $start_date::date - 7
        and s.valid_from <= span.last_day
        and coalesce(s.valid_to, date '9999-12-31') >= span.first_day
),

-- the days of a row whose window start the same row covers (most of a row's days): its own start
-- (no order counted in between)
held as (
    select
        greatest(from_day, valid_from + $kpi_window_days) as from_day,
        to_day,
        true as with_start,
        is_active as active_start,
        is_active as active_end,
        0 as window_orders,
        tier as start_tier
    from ends
),

-- the days of a row whose window start precedes it: the start is another row, or none
open_ends as (
    select
        customer_id,
        from_day,
        least(to_day, valid_from + $kpi_window_days - 1) as to_day,
        first_order_date,
        is_active,
        lifetime_orders
    from ends
    where from_day < valid_from + $kpi_window_days
),

-- the rows of the window starts, as the end days they are the start of
starts as (
    select
        customer_id,
        greatest(valid_from, $start_date::date - 7 - $kpi_window_days) + $kpi_window_days
        as from_day,
        least(
            coalesce(valid_to, date '9999-12-31'), $end_date::date - $kpi_window_days
        ) + $kpi_window_days as to_day,
        is_active,
        lifetime_orders,
        tier
    from customer_state
    where
        valid_from <= $end_date::date - $kpi_window_days
        and coalesce(valid_to, date '9999-12-31') >= $start_date::date - 7 - $kpi_window_days
),

looked_up as (
    select
        greatest(e.from_day, s.from_day) as from_day,
        least(e.to_day, s.to_day) as to_day,
        true as with_start,
        s.is_active as active_start,
        e.is_active as active_end,
        e.lifetime_orders - s.lifetime_orders as window_orders,
        s.tier as start_tier
    from open_ends as e
    inner join starts as s
        on e.customer_id = s.customer_id and s.from_day <= e.to_day and s.to_day >= e.from_day
),

-- the days whose window start precedes the customer's first counted order: not in the window
-- start's population
unpaired as (
    select
        from_day,
        least(to_day, first_order_date + $kpi_window_days - 1) as to_day,
        false as with_start,
        false as active_start,
        is_active as active_end,
        lifetime_orders as window_orders,
        null::varchar as start_tier
    from open_ends
    where from_day < first_order_date + $kpi_window_days
),

pieces as (
    select * from held
    union all
    select * from looked_up
    union all
    select * from unpaired
),

-- each piece's counts (every day of a row is in exactly one piece: population counts them); a
-- row of a day whose window start is not stored counts its lifetime orders as the window's (no
-- start), apart, read only when the range has such a day
counted as (
    select
        from_day,
        to_day,
        1 as population,
        active_start::integer as churn_n,
        (active_start and not active_end)::integer as churned,
        (active_start and start_tier = 'A')::integer as tier_a_n,
        (active_start and start_tier = 'A' and active_end)::integer as tier_a_kept,
        (with_start and start_tier = 'D')::integer as tier_d_n,
        (with_start and start_tier = 'D' and window_orders > 0)::integer as tier_d_activated,
        (window_orders >= 1)::integer as buyers,
        (window_orders >= 2)::integer as repeat_buyers,
        0 as buyers_unstored,
        0 as repeat_buyers_unstored
    from pieces
    where from_day <= to_day
    union all
    select
        from_day,
        to_day,
        0 as population,
        0 as churn_n,
        0 as churned,
        0 as tier_a_n,
        0 as tier_a_kept,
        0 as tier_d_n,
        0 as tier_d_activated,
        0 as buyers,
        0 as repeat_buyers,
        (lifetime_orders >= 1)::integer as buyers_unstored,
        (lifetime_orders >= 2)::integer as repeat_buyers_unstored
    from ends
    where (select count(*) from days as u where not u.start_stored) > 0
),

-- the counts of each span of days, summed first (few distinct spans)
spans as (
    select
        from_day,
        to_day,
        sum(population) as population,
        sum(churn_n) as churn_n,
        sum(churned) as churned,
        sum(tier_a_n) as tier_a_n,
        sum(tier_a_kept) as tier_a_kept,
        sum(tier_d_n) as tier_d_n,
        sum(tier_d_activated) as tier_d_activated,
        sum(buyers) as buyers,
        sum(repeat_buyers) as repeat_buyers,
        sum(buyers_unstored) as buyers_unstored,
        sum(repeat_buyers_unstored) as repeat_buyers_unstored
    from counted
    group by from_day, to_day
),

-- the counts enter on a span's first day and leave the day after its last; every day of the board
-- has a row (no change: zeros)
deltas as (
    select
        from_day as day,
        population,
        churn_n,
        churned,
        tier_a_n,
        tier_a_kept,
        tier_d_n,
        tier_d_activated,
        buyers,
        repeat_buyers,
        buyers_unstored,
        repeat_buyers_unstored
    from spans
    union all
    select
        to_day + 1 as day,
        -population,
        -churn_n,
        -churned,
        -tier_a_n,
        -tier_a_kept,
        -tier_d_n,
        -tier_d_activated,
        -buyers,
        -repeat_buyers,
        -buyers_unstored,
        -repeat_buyers_unstored
    from spans
    union all
    select as_of as day, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    from days
),

per_day as (
    select
        day,
        sum(population) as population,
        sum(churn_n) as churn_n,
        sum(churned) as churned,
        sum(tier_a_n) as tier_a_n,
        sum(tier_a_kept) as tier_a_kept,
        sum(tier_d_n) as tier_d_n,
        sum(tier_d_activated) as tier_d_activated,
        sum(buyers) as buyers,
        sum(repeat_buyers) as repeat_buyers,
        sum(buyers_unstored) as buyers_unstored,
        sum(repeat_buyers_unstored) as repeat_buyers_unstored
    from deltas
    group by day
),

running as (
    select
        day,
        sum(population) over w as population,
        sum(churn_n) over w as churn_n,
        sum(churned) over w as churned,
        sum(tier_a_n) over w as tier_a_n,
        sum(tier_a_kept) over w as tier_a_kept,
        sum(tier_d_n) over w as tier_d_n,
        sum(tier_d_activated) over w as tier_d_activated,
        sum(buyers) over w as buyers,
        sum(repeat_buyers) over w as repeat_buyers,
        sum(buyers_unstored) over w as buyers_unstored,
        sum(repeat_buyers_unstored) over w as repeat_buyers_unstored
    from per_day
    window w as (order by day rows unbounded preceding)
)

-- a day without customers has no row (as the orders' count has none)
select
    d.as_of,
    case when d.start_stored then r.churn_n else 0 end::bigint as churn_n,
    case when d.start_stored then r.churned else 0 end::bigint as churned,
    case when d.start_stored then r.tier_a_n else 0 end::bigint as tier_a_n,
    case when d.start_stored then r.tier_a_kept else 0 end::bigint as tier_a_kept,
    case when d.start_stored then r.tier_d_n else 0 end::bigint as tier_d_n,
    case when d.start_stored then r.tier_d_activated else 0 end::bigint as tier_d_activated,
    case when d.start_stored then r.buyers else r.buyers_unstored end::bigint as buyers,
    case
        when d.start_stored then r.repeat_buyers else r.repeat_buyers_unstored
    end::bigint as repeat_buyers
from days as d
inner join running as r on d.as_of = r.day
where r.population > 0
