-- grain: one row per (period_type, period_start, tier), tier in A, B, C, D and 'all'.
-- buyers = customers with >= 1 counted order in period_start..end_as_of, repeat_buyers = >= 2.
-- Tier rows use the start snapshot's tier, so a first-time buyer of the period (no start tier)
-- counts only in 'all'. lifetime_repeat_rate (a separate metric) is the share of the population at
-- end_as_of with >= 2 counted orders ever, by end tier. Both rates carry their Wilson interval at
-- $z_interval (<rate>_low, <rate>_high; macros.sql).
-- Built incrementally: the periods ending on or after $since are computed; of them, a period that
-- only moved its end (repurchase_period_moved: its stored row ends before $since) is its stored
-- counts plus, for the customers with a counted order after the old end, their buyer counts up to
-- the new end minus up to the old end, and for the customers whose state row opened or closed after
-- the old end, their population counts at the new end minus at the old end (counts over customers:
-- equal to the counts over everyone, tests/test_periods_incremental.py).
with periods as (
    -- every reported period, or in an incremental build those ending on or after $since
    select * from report_periods
    where end_as_of >= $since
),

moved as (
    select distinct m.period_type, m.period_start, m.old_end
    from repurchase_period_moved as m
    inner join periods as p on m.period_type = p.period_type and m.period_start = p.period_start
),

end_days as (
    -- the end days of the periods computed in full
    select distinct p.end_as_of as as_of
    from periods as p
    anti join moved as m on p.period_type = m.period_type and p.period_start = m.period_start
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

-- a moved period's population at its end: the rows of the customers whose state changed (opened
-- or closed after the earliest old end; anyone else has the same row on both ends) at the new end
-- (+1) and at the old end (-1)
moved_end_counts as (
    select
        e.period_type,
        e.period_start,
        s.tier,
        sum(e.sign)::bigint as customers,
        coalesce(sum(e.sign) filter (where s.lifetime_orders >= 2), 0)::bigint as repeat_customers
    from (
        select p.period_type, p.period_start, p.end_as_of as end_day, 1 as sign
        from periods as p
        inner join moved as m
            on p.period_type = m.period_type and p.period_start = m.period_start
        union all
        select period_type, period_start, old_end, -1 from moved
    ) as e
    semi join snapshot_params as sp on e.end_day = sp.as_of
    inner join (
        select * from customer_state
        where
            coalesce(valid_to, date '9999-12-31') >= $states_from::date
            and (
                valid_from > (select min(old_end) from moved)
                or valid_to >= (select min(old_end) from moved)
            )
    ) as s
        on e.end_day between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    group by all
),

-- each buyer's counted orders of a period computed in full; of a moved period only the customers
-- with a counted order after its old end, with their orders up to the old end (orders_before)
period_orders as (
    select
        p.period_type,
        p.period_start,
        m.old_end,
        o.customer_id,
        count(*) as orders,
        count(*) filter (where o.order_date <= m.old_end) as orders_before
    from periods as p
    left join moved as m
        on p.period_type = m.period_type and p.period_start = m.period_start
    inner join stg_orders as o
        on
            o.is_counted
            and o.order_date between p.period_start and p.end_as_of
            -- no period computed starts earlier (a bound value: the zone maps skip the rest)
            and o.ordered_at >= $orders_from::date::timestamp
    group by all
    having m.old_end is null or max(o.order_date) > m.old_end
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

-- a buyer counts 1 (a repeat buyer with 2 orders or more); in a moved period what it counts now
-- minus what it counted at the old end
buyer_deltas as (
    select
        period_type,
        period_start,
        tier,
        1 - (old_end is not null and orders_before >= 1)::integer as buyer,
        (orders >= 2)::integer - (old_end is not null and orders_before >= 2)::integer as repeat_buyer
    from with_start_tier
),

buyer_rows as (
    select period_type, period_start, tier, buyer, repeat_buyer from buyer_deltas
    where tier is not null
    union all
    select period_type, period_start, $all_key as tier, buyer, repeat_buyer from buyer_deltas
),

buyer_counts as (
    select
        period_type,
        period_start,
        tier,
        sum(buyer)::bigint as buyers,
        sum(repeat_buyer)::bigint as repeat_buyers
    from buyer_rows
    group by all
),

grid as (
    select p.*, t.tier
    from periods as p
    cross join (select unnest($tier_keys) as tier) as t
),

lifetime_rows as (
    select p.period_type, p.period_start, e.tier, e.customers, e.repeat_customers
    from periods as p
    anti join moved as m on p.period_type = m.period_type and p.period_start = m.period_start
    inner join end_counts as e on p.end_as_of = e.as_of
    union all
    select period_type, period_start, tier, customers, repeat_customers from moved_end_counts
),

lifetime_counts as (
    select
        period_type,
        period_start,
        coalesce(tier, $all_key) as tier,
        sum(customers)::bigint as lifetime_customers,
        sum(repeat_customers)::bigint as lifetime_repeat_customers
    from lifetime_rows
    group by grouping sets ((period_type, period_start, tier), (period_type, period_start))
),

-- the counts: computed, or a moved period's stored counts plus what changed
counts as (
    select
        g.*,
        coalesce(mv.buyers, 0) + coalesce(b.buyers, 0) as buyers,
        coalesce(mv.repeat_buyers, 0) + coalesce(b.repeat_buyers, 0) as repeat_buyers,
        coalesce(mv.lifetime_customers, 0) + coalesce(l.lifetime_customers, 0)
            as lifetime_customers,
        coalesce(mv.lifetime_repeat_customers, 0) + coalesce(l.lifetime_repeat_customers, 0)
            as lifetime_repeat_customers
    from grid as g
    left join buyer_counts as b
        on g.period_type = b.period_type and g.period_start = b.period_start and g.tier = b.tier
    left join lifetime_counts as l
        on g.period_type = l.period_type and g.period_start = l.period_start and g.tier = l.tier
    left join repurchase_period_moved as mv
        on g.period_type = mv.period_type and g.period_start = mv.period_start and g.tier = mv.tier
),

final as (
    select
        period_type,
        period_start,
        tier,
        buyers,
        repeat_buyers,
        repeat_buyers / nullif(buyers, 0) as repurchase_rate,
        wilson_low(repeat_buyers, buyers, $z_interval) as repurchase_rate_low,
        wilson_high(repeat_buyers, buyers, $z_interval) as repurchase_rate_high,
        lifetime_customers,
        lifetime_repeat_customers,
        lifetime_repeat_customers / nullif(lifetime_customers, 0) as lifetime_repeat_rate,
        wilson_low(lifetime_repeat_customers, lifetime_customers, $z_interval)
            as lifetime_repeat_rate_low,
        wilson_high(lifetime_repeat_customers, lifetime_customers, $z_interval)
            as lifetime_repeat_rate_high,
        period_end,
        end_as_of,
        is_complete
    from counts
)

select * from final
order by period_type, period_start, tier
