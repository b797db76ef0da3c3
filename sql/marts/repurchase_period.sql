-- grain: one row per (period_type, period_start, tier), tier in A, B, C, D and 'all'.
-- buyers = customers with >= 1 counted order in period_start..end_as_of, repeat_buyers = >= 2.
-- Tier rows use the start snapshot's tier, so a first-time buyer of the period (no start tier)
-- counts only in 'all'. lifetime_repeat_rate (a separate metric) is the share of the population at
-- end_as_of with >= 2 counted orders ever, by end tier. Both rates carry their Wilson interval at
-- $z_interval (<rate>_low, <rate>_high; macros.sql).
with periods as (
    -- every reported period, or in an incremental build those ending on or after $since
    select * from report_periods
    where end_as_of >= $since
),

period_days as (
    select start_as_of as as_of from periods
    union
    select end_as_of as as_of from periods
),

day_state as (
    -- customer_snapshot's stored columns on the periods' start and end days only: customer_state
    -- read for those stored days (joining the view on as_of would span every stored day)
    select
        sp.as_of,
        s.*
    from snapshot_params as sp
    semi join period_days as d on sp.as_of = d.as_of
    inner join customer_state as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
),

period_orders as (
    select p.period_type, p.period_start, o.customer_id, count(*) as orders
    from periods as p
    inner join stg_orders as o
        on o.is_counted and o.order_date between p.period_start and p.end_as_of
    group by all
),

with_start_tier as (
    select po.*, s.tier
    from period_orders as po
    inner join periods as p
        on po.period_type = p.period_type and po.period_start = p.period_start
    left join day_state as s
        on s.as_of = p.start_as_of and s.customer_id = po.customer_id
),

buyer_rows as (
    select period_type, period_start, tier, orders from with_start_tier where tier is not null
    union all
    select period_type, period_start, $all_key as tier, orders from with_start_tier
),

buyer_counts as (
    select
        period_type,
        period_start,
        tier,
        count(*) as buyers,
        count(*) filter (where orders >= 2) as repeat_buyers
    from buyer_rows
    group by all
),

lifetime_rows as (
    select p.period_type, p.period_start, s.tier, s.lifetime_orders
    from periods as p
    inner join day_state as s on s.as_of = p.end_as_of
),

lifetime_counts as (
    select
        period_type,
        period_start,
        coalesce(tier, $all_key) as tier,
        count(*) as lifetime_customers,
        count(*) filter (where lifetime_orders >= 2) as lifetime_repeat_customers
    from lifetime_rows
    group by grouping sets ((period_type, period_start, tier), (period_type, period_start))
),

grid as (
    select p.*, t.tier
    from periods as p
    cross join (select unnest($tier_keys) as tier) as t
),

final as (
    select
        g.period_type,
        g.period_start,
        g.tier,
        coalesce(b.buyers, 0) as buyers,
        coalesce(b.repeat_buyers, 0) as repeat_buyers,
        b.repeat_buyers / nullif(b.buyers, 0) as repurchase_rate,
        wilson_low(b.repeat_buyers, b.buyers, $z_interval) as repurchase_rate_low,
        wilson_high(b.repeat_buyers, b.buyers, $z_interval) as repurchase_rate_high,
        coalesce(l.lifetime_customers, 0) as lifetime_customers,
        coalesce(l.lifetime_repeat_customers, 0) as lifetime_repeat_customers,
        l.lifetime_repeat_customers / nullif(l.lifetime_customers, 0) as lifetime_repeat_rate,
        wilson_low(l.lifetime_repeat_customers, l.lifetime_customers, $z_interval)
            as lifetime_repeat_rate_low,
        wilson_high(l.lifetime_repeat_customers, l.lifetime_customers, $z_interval)
            as lifetime_repeat_rate_high,
        g.period_end,
        g.end_as_of,
        g.is_complete
    from grid as g
    left join buyer_counts as b
        on g.period_type = b.period_type and g.period_start = b.period_start and g.tier = b.tier
    left join lifetime_counts as l
        on g.period_type = l.period_type and g.period_start = l.period_start and g.tier = l.tier
)

select * from final
order by period_type, period_start, tier
