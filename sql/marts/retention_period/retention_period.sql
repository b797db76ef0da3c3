-- grain: one row per (period_type, period_start, tier), tier in A, B, C, D and 'all'.
-- start = snapshot of period_start - 1, end = snapshot of end_as_of (the last day, or the last
-- stored day of a partial period). Active and tier come from those snapshots, so every count can
-- be traced to customer_snapshot rows. Start-side measures use the start tier; end_count and
-- new_count use the end tier (new customers have no start tier). Empty denominators give NULL.
-- Every share carries its Wilson interval at $z_interval (<rate>_low, <rate>_high; macros.sql):
-- kept and churn over start_count, activation over start_population. retention_rate can pass 100 %
-- (it is not a share) and has none.
-- Built incrementally: the periods ending on or after $since are computed; of them, a period that
-- only moved its end (retention_period_moved: its stored row ends before $since) is its stored counts
-- plus, for the customers whose state or orders changed after the old end, their counts at the new
-- end minus their counts at the old end. Each count is a sum over customers, so this equals the
-- count over everyone (tests/test_periods_incremental.py).
with periods as (
    -- every reported period, or in an incremental build those ending on or after $since
    select * from report_periods
    where end_as_of >= $since
),

moved as (
    select distinct m.period_type, m.period_start, m.old_end, p.start_as_of, p.end_as_of
    from retention_period_moved as m
    inner join periods as p
        on m.period_type = p.period_type and m.period_start = p.period_start
),

-- what a period's counts are summed over: every customer at its end (a period computed in full),
-- or the changed customers at its new end (+1) and at its old end (-1)
evaluations as (
    select p.period_type, p.period_start, p.start_as_of, p.end_as_of as end_day, 1 as sign, false as changed_only
    from periods as p
    anti join moved as m on p.period_type = m.period_type and p.period_start = m.period_start
    union all
    select period_type, period_start, start_as_of, end_as_of, 1, true from moved
    union all
    select period_type, period_start, start_as_of, old_end, -1, true from moved
),

changed_customers as (
    -- a state row opened after the earliest old end, or a counted order dated after it
    select s.customer_id
    from (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
    where s.valid_from > (select min(old_end) from moved)
    union
    select o.customer_id
    from stg_orders as o
    where
        o.is_counted
        and o.order_date > (select min(old_end) from moved)
        -- no period computed starts earlier (a bound value: the zone maps skip the rest)
        and o.ordered_at >= $orders_from::date::timestamp
),

every_day as (
    select start_as_of as as_of from evaluations where not changed_only
    union
    select end_day from evaluations where not changed_only
),

changed_day as (
    select start_as_of as as_of from evaluations where changed_only
    union
    select end_day from evaluations where changed_only
),

day_state as (
    -- customer_snapshot's stored columns on the evaluations' days only: customer_state read for
    -- those stored days (joining the view on as_of would span every stored day); every customer
    -- on the days of the periods computed in full, the changed customers on the others; only
    -- the columns read below (the CTE is read twice: a materialised copy holds no other column)
    select false as changed_only, sp.as_of, s.customer_id, s.tier, s.is_active, s.first_order_at
    from snapshot_params as sp
    semi join every_day as d on sp.as_of = d.as_of
    inner join (
        select customer_id, valid_from, valid_to, tier, is_active, first_order_at
        from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    union all
    select true as changed_only, sp.as_of, s.customer_id, s.tier, s.is_active, s.first_order_at
    from snapshot_params as sp
    semi join changed_day as d on sp.as_of = d.as_of
    inner join (
        select customer_id, valid_from, valid_to, tier, is_active, first_order_at
        from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    semi join changed_customers as c on s.customer_id = c.customer_id
),

start_state as (
    select e.period_type, e.period_start, e.end_day, e.sign, s.customer_id, s.tier, s.is_active
    from evaluations as e
    inner join day_state as s on s.as_of = e.start_as_of and s.changed_only = e.changed_only
),

end_state as (
    select
        e.period_type,
        e.period_start,
        e.end_day,
        e.sign,
        s.customer_id,
        s.tier,
        s.is_active,
        s.first_order_at::date between e.period_start and e.end_day as is_new
    from evaluations as e
    inner join day_state as s on s.as_of = e.end_day and s.changed_only = e.changed_only
),

buyers as (
    select distinct e.period_type, e.period_start, e.end_day, o.customer_id
    from evaluations as e
    inner join stg_orders as o
        on
            o.is_counted
            and o.order_date between e.period_start and e.end_day
            and o.ordered_at >= $orders_from::date::timestamp
    where
        not e.changed_only
        or o.customer_id in (select c.customer_id from changed_customers as c)
),

members as (
    select
        coalesce(st.period_type, en.period_type) as period_type,
        coalesce(st.period_start, en.period_start) as period_start,
        coalesce(st.end_day, en.end_day) as end_day,
        coalesce(st.sign, en.sign) as sign,
        st.tier as start_tier,
        en.tier as end_tier,
        st.customer_id is not null as in_start_population,
        coalesce(st.is_active, false) as active_start,
        coalesce(en.is_active, false) as active_end,
        coalesce(en.is_new, false) as is_new,
        b.customer_id is not null as bought
    from start_state as st
    full outer join end_state as en
        on st.period_type = en.period_type
        and st.period_start = en.period_start
        and st.end_day = en.end_day
        and st.customer_id = en.customer_id
    left join buyers as b
        on b.period_type = coalesce(st.period_type, en.period_type)
        and b.period_start = coalesce(st.period_start, en.period_start)
        and b.end_day = coalesce(st.end_day, en.end_day)
        and b.customer_id = coalesce(st.customer_id, en.customer_id)
),

-- every member counts once in its tier rows and once in 'all', with its evaluation's sign
tiered as (
    select *, start_tier as start_key, end_tier as end_key from members
    union all
    select *, $all_key as start_key, $all_key as end_key from members
),

by_start as (
    select
        period_type,
        period_start,
        start_key as tier,
        sum(sign) filter (where in_start_population) as start_population,
        sum(sign) filter (where active_start) as start_count,
        sum(sign) filter (where active_start and active_end) as kept_count,
        sum(sign) filter (where active_start and not active_end) as lost_count,
        sum(sign) filter (where in_start_population and bought) as activated_count
    from tiered
    where start_key is not null
    group by all
),

by_end as (
    select
        period_type,
        period_start,
        end_key as tier,
        sum(sign) filter (where active_end) as end_count,
        sum(sign) filter (where is_new) as new_count,
        sum(sign) filter (where is_new and active_end) as new_active_count,
        sum(sign) filter (
            where active_end and not active_start and not is_new
        ) as reactivated_count
    from tiered
    where end_key is not null
    group by all
),

stored as (
    -- the stored counts of the moved periods (every other period starts from zero)
    select * from retention_period_moved
),

grid as (
    select p.*, t.tier
    from periods as p
    cross join (select unnest($tier_keys) as tier) as t
),

counts as (
    select
        g.period_type,
        g.period_start,
        g.tier,
        g.period_end,
        g.start_as_of,
        g.end_as_of,
        g.is_complete,
        (coalesce(m.start_count, 0) + coalesce(s.start_count, 0))::bigint as start_count,
        (coalesce(m.end_count, 0) + coalesce(e.end_count, 0))::bigint as end_count,
        (coalesce(m.new_count, 0) + coalesce(e.new_count, 0))::bigint as new_count,
        (coalesce(m.kept_count, 0) + coalesce(s.kept_count, 0))::bigint as kept_count,
        (coalesce(m.lost_count, 0) + coalesce(s.lost_count, 0))::bigint as lost_count,
        (coalesce(m.reactivated_count, 0) + coalesce(e.reactivated_count, 0))::bigint
            as reactivated_count,
        (coalesce(m.new_active_count, 0) + coalesce(e.new_active_count, 0))::bigint
            as new_active_count,
        (coalesce(m.start_population, 0) + coalesce(s.start_population, 0))::bigint
            as start_population,
        (coalesce(m.activated_count, 0) + coalesce(s.activated_count, 0))::bigint
            as activated_count
    from grid as g
    left join stored as m
        on g.period_type = m.period_type and g.period_start = m.period_start and g.tier = m.tier
    left join by_start as s
        on g.period_type = s.period_type and g.period_start = s.period_start and g.tier = s.tier
    left join by_end as e
        on g.period_type = e.period_type and g.period_start = e.period_start and g.tier = e.tier
),

final as (
    select
        period_type,
        period_start,
        tier,
        start_count,
        end_count,
        new_count,
        kept_count,
        (end_count - new_count) / nullif(start_count, 0) as retention_rate,
        kept_count / nullif(start_count, 0) as kept_rate,
        1 - kept_count / nullif(start_count, 0) as churn_rate,
        activated_count / nullif(start_population, 0) as activation_rate,
        wilson_low(kept_count, start_count, $z_interval) as kept_rate_low,
        wilson_high(kept_count, start_count, $z_interval) as kept_rate_high,
        1 - wilson_high(kept_count, start_count, $z_interval) as churn_rate_low,
        1 - wilson_low(kept_count, start_count, $z_interval) as churn_rate_high,
        wilson_low(activated_count, start_population, $z_interval) as activation_rate_low,
        wilson_high(activated_count, start_population, $z_interval) as activation_rate_high,
        lost_count,
        reactivated_count,
        new_active_count,
        start_population,
        activated_count,
        period_end,
        start_as_of,
        end_as_of,
        is_complete
    from counts
)

select * from final
order by period_type, period_start, tier
