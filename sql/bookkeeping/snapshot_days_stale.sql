-- grain: one row: how many of the days $days (a list) have no stored snapshot that still holds;
-- 0 means every one does (a one-day run may carry the day before forward, the KPI board may read
-- them). A day holds when snapshot_params has it, computed with the thresholds $params_json and
-- with the newest ingest load then known (loads_seen), and since then no order or ticket key was
-- replaced and no order or ticket dated on or before the day was loaded. Set-based: the loads
-- after each distinct loads_seen (one per run that stored days) are looked at once, not per day.
with days as (
    select distinct unnest($days::date[]) as day
),

stored as (
    select
        d.day,
        p.params_json,
        p.loads_seen
    from days as d
    left join snapshot_params as p on d.day = p.as_of
),

-- the earliest order and ticket of each load after the oldest of those runs (none when no day is
-- stored: the newest load bounds them): the bound is one value for the whole scan, so the
-- `_load_id` zone maps skip the history (a bound per run, as below, made each scan read every
-- row: 0.3 s of a night at 100 M orders)
oldest_seen as (
    select coalesce(
        (select min(st.loads_seen) from stored as st),
        (select max(l.load_id) from ingest_log as l)
    ) as loads_seen
),

newer_orders as (
    select
        o._load_id,
        min(o.ordered_at) as first_at
    from orders as o
    where o._load_id > (select os.loads_seen from oldest_seen as os)
    group by o._load_id
),

newer_tickets as (
    select
        t._load_id,
        min(t.opened_at) as first_at
    from tickets as t
    where t._load_id > (select os.loads_seen from oldest_seen as os)
    group by t._load_id
),

since as (
    -- per run that stored days: what was loaded after it
    select
        s.loads_seen,
        (
            select count(*) from ingest_log as l
            where l.load_id > s.loads_seen
                and l.source in ('orders', 'tickets')
                and l.keys_replaced > 0
        ) as keys_replaced,
        (select min(o.first_at) from newer_orders as o where o._load_id > s.loads_seen)
        as first_order,
        (select min(t.first_at) from newer_tickets as t where t._load_id > s.loads_seen)
        as first_ticket
    from (select distinct loads_seen from stored where loads_seen is not null) as s
),

stale as (
    select st.day
    from stored as st
    left join since as n on st.loads_seen = n.loads_seen
    where st.params_json is distinct from $params_json
        or st.loads_seen is null
        or n.keys_replaced > 0
        -- an order or ticket dated on or before the day, loaded after it was computed
        or n.first_order < st.day + 1
        or n.first_ticket < st.day + 1
)

select count(*) as stale_days from stale
