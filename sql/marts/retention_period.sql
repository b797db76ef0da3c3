-- grain: one row per (period_type, period_start, tier), tier in A, B, C, D and 'all'.
-- start = snapshot of period_start - 1, end = snapshot of end_as_of (the last day, or the last
-- stored day of a partial period). Active and tier come from those snapshots, so every count can
-- be traced to customer_snapshot rows. Start-side measures use the start tier; end_count and
-- new_count use the end tier (new customers have no start tier). Empty denominators give NULL.
-- Every share carries its Wilson interval at $z_interval (<rate>_low, <rate>_high; macros.sql):
-- kept and churn over start_count, activation over start_population. retention_rate can pass 100 %
-- (it is not a share) and has none.
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

start_state as (
    select p.period_type, p.period_start, s.customer_id, s.tier, s.is_active
    from periods as p
    inner join day_state as s on s.as_of = p.start_as_of
),

end_state as (
    select
        p.period_type,
        p.period_start,
        s.customer_id,
        s.tier,
        s.is_active,
        s.first_order_at::date between p.period_start and p.end_as_of as is_new
    from periods as p
    inner join day_state as s on s.as_of = p.end_as_of
),

buyers as (
    select distinct p.period_type, p.period_start, o.customer_id
    from periods as p
    inner join stg_orders as o
        on o.is_counted and o.order_date between p.period_start and p.end_as_of
),

members as (
    select
        coalesce(st.period_type, en.period_type) as period_type,
        coalesce(st.period_start, en.period_start) as period_start,
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
        and st.customer_id = en.customer_id
    left join buyers as b
        on b.period_type = coalesce(st.period_type, en.period_type)
        and b.period_start = coalesce(st.period_start, en.period_start)
        and b.customer_id = coalesce(st.customer_id, en.customer_id)
),

-- every member counts once in its tier rows and once in 'all'
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
        count(*) filter (where in_start_population) as start_population,
        count(*) filter (where active_start) as start_count,
        count(*) filter (where active_start and active_end) as kept_count,
        count(*) filter (where active_start and not active_end) as lost_count,
        count(*) filter (where in_start_population and bought) as activated_count
    from tiered
    where start_key is not null
    group by all
),

by_end as (
    select
        period_type,
        period_start,
        end_key as tier,
        count(*) filter (where active_end) as end_count,
        count(*) filter (where is_new) as new_count,
        count(*) filter (where is_new and active_end) as new_active_count,
        count(*) filter (
            where active_end and not active_start and not is_new
        ) as reactivated_count
    from tiered
    where end_key is not null
    group by all
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
        coalesce(s.start_count, 0) as start_count,
        coalesce(e.end_count, 0) as end_count,
        coalesce(e.new_count, 0) as new_count,
        coalesce(s.kept_count, 0) as kept_count,
        coalesce(s.lost_count, 0) as lost_count,
        coalesce(e.reactivated_count, 0) as reactivated_count,
        coalesce(e.new_active_count, 0) as new_active_count,
        coalesce(s.start_population, 0) as start_population,
        coalesce(s.activated_count, 0) as activated_count
    from grid as g
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
