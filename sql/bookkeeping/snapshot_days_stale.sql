-- grain: one row: how many of the days $days (a list) have no stored snapshot that still holds;
-- 0 means every one does (a one-day run may carry the day before forward, the KPI board may read
-- them). A day holds when snapshot_params has it, computed with the thresholds $params_json and
-- with the newest ingest load then known (loads_seen), and since then no order or ticket key was
-- replaced and no order or ticket dated on or before the day was loaded. Set-based: the loads
-- after the oldest loads_seen are summarised once (one row per load), then matched to the days.
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

-- the oldest run that stored one of the days (none when no day is stored: the newest load bounds the scans below)
oldest_seen as (
    select coalesce(
        (select min(st.loads_seen) from stored as st),
        (select max(l.load_id) from ingest_log as l)
    ) as loads_seen
),

-- every load that can make a stored day stale, one row each: the earliest order and ticket of
-- each load after the oldest of those runs (the bound is one value for the whole scan, so the
-- `_load_id` zone maps skip the history: a bound per run made each scan read every row, 0.3 s
-- of a night at 100 M orders), and each load that replaced an order or ticket key
newer as (
    select
        o._load_id as load_id,
        false as replaced,
        min(o.ordered_at) as first_at
    from orders as o
    where o._load_id > (select os.loads_seen from oldest_seen as os)
    group by o._load_id
    union all
    select
        t._load_id as load_id,
        false as replaced,
        min(t.opened_at) as first_at
    from tickets as t
    where t._load_id > (select os.loads_seen from oldest_seen as os)
    group by t._load_id
    union all
    select
        l.load_id,
        true as replaced,
        null as first_at
    from ingest_log as l
    where l.source in ('orders', 'tickets') and l.keys_replaced > 0
),

-- a day is stale when a load after its run replaced a key or brought an order or ticket dated
-- on or before it (one semi join of the stored days with those few loads: on Spark each scalar
-- subquery per run was a plan of its own)
stale as (
    select st.day
    from stored as st
    where st.params_json is distinct from $params_json
        or st.loads_seen is null
        or exists (
            select 1 from newer as n
            where n.load_id > st.loads_seen
                and (n.replaced or n.first_at < st.day + 1)
        )
)

select count(*) as stale_days from stale
