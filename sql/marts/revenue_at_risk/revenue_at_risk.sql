-- grain: one row per (as_of, dimension, key) for every customer_value day in
-- $start_date..$end_date: the whole base ('all'), each tier (every tier, zero when empty) and each
-- RFM segment present that day, with tier and segment from that day's customer_snapshot.
with value_days as (
    select distinct v.as_of
    from customer_value as v
    where v.as_of between $start_date::date and $end_date::date
),

-- customer_snapshot's tier and segment on those days: customer_state read for those stored days
-- (joining the view on as_of would span every stored day)
day_state as (
    select
        sp.as_of,
        s.customer_id,
        s.tier,
        s.segment
    from snapshot_params as sp
    semi join value_days as d on sp.as_of = d.as_of
    -- only the rows holding within $start_date..$end_date (constants the scan applies to two
    -- date columns: the history before them is not read)
    inner join (
        select customer_id, valid_from, valid_to, tier, segment
        from customer_state
        where
            valid_from <= $end_date::date
            and coalesce(valid_to, date '9999-12-31') >= $start_date::date
    ) as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
),

customers as (
    select v.as_of, v.status, v.status_source, v.value_at_risk, v.clv, s.tier, s.segment
    from customer_value as v
    inner join day_state as s on v.as_of = s.as_of and v.customer_id = s.customer_id
    where v.as_of between $start_date::date and $end_date::date
),

keyed as (
    select as_of, 'all' as dimension, $all_key as key, status, value_at_risk, clv from customers
    union all
    select as_of, 'tier' as dimension, tier as key, status, value_at_risk, clv from customers
    union all
    select as_of, 'segment' as dimension, segment as key, status, value_at_risk, clv from customers
),

-- the model columns are all set on a day or all NULL (no trusted model): sums are then NULL
days as (
    select as_of, bool_and(status_source = 'model') as model_used from customers group by as_of
),

tier_grid as (
    select as_of, 'tier' as dimension, unnest($tiers) as key from days
),

totals as (
    select
        as_of,
        dimension,
        key,
        count(*) as customers,
        count(*) filter (where status = 'at_risk') as at_risk_customers,
        sum(value_at_risk) filter (where status = 'at_risk') as value_at_risk,
        sum(clv) as clv
    from keyed
    group by all
),

final as (
    select
        d.as_of,
        coalesce(t.dimension, g.dimension) as dimension,
        coalesce(t.key, g.key) as key,
        coalesce(t.customers, 0)::integer as customers,
        coalesce(t.at_risk_customers, 0)::integer as at_risk_customers,
        case when d.model_used then coalesce(t.value_at_risk, 0) end::decimal(18, 2) as value_at_risk,
        case when d.model_used then coalesce(t.clv, 0) end::decimal(18, 2) as clv
    from totals as t
    full outer join tier_grid as g on t.as_of = g.as_of and t.dimension = g.dimension and t.key = g.key
    inner join days as d on coalesce(t.as_of, g.as_of) = d.as_of
)

select * from final
