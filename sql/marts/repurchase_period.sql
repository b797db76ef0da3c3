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

end_days as (
    select distinct end_as_of as as_of from periods
),

end_counts as (
    -- customer_snapshot on the periods' end days, counted per day and tier: customer_state read
    -- for those stored days (joining the view on as_of would span every stored day), one count per
    -- day however many periods end on it
    select
        sp.as_of,
        s.tier,
        count(*) as customers,
        count(*) filter (where s.lifetime_orders >= 2) as repeat_customers
    from snapshot_params as sp
    semi join end_days as d on sp.as_of = d.as_of
    inner join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    group by all
),

period_orders as (
    select p.period_type, p.period_start, o.customer_id, count(*) as orders
    from periods as p
    inner join stg_orders as o
        on
            o.is_counted
            and o.order_date between p.period_start and p.end_as_of
            -- no period computed starts earlier (a bound value: the zone maps skip the rest)
            and o.ordered_at >= $orders_from::date::timestamp
    group by all
),

with_start_tier as (
    select po.*, s.tier
    from period_orders as po
    inner join periods as p
        on po.period_type = p.period_type and po.period_start = p.period_start
    -- the buyers' rows of customer_snapshot on the start day (a stored day: report_periods), not
    -- every customer's
    left join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on
            s.customer_id = po.customer_id
            and p.start_as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
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

lifetime_counts as (
    select
        p.period_type,
        p.period_start,
        coalesce(e.tier, $all_key) as tier,
        sum(e.customers)::bigint as lifetime_customers,
        sum(e.repeat_customers)::bigint as lifetime_repeat_customers
    from periods as p
    inner join end_counts as e on p.end_as_of = e.as_of
    group by grouping sets ((p.period_type, p.period_start, e.tier), (p.period_type, p.period_start))
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
