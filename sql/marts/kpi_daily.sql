-- grain: one row per (as_of, kpi) for every day as_of in $start_date..$end_date and every KPI of
-- the board. Each KPI is measured over the trailing window (as_of - kpi_window_days, as_of]:
-- window_start = as_of - kpi_window_days is "start" (tiers from that day's stored snapshot),
-- window_end = as_of is "end". Targets, alert levels, directions and owners are settings.
-- change_7d = value - value of the same KPI 7 days earlier: the stored board of that day when it
-- is stored and outside the range, else recomputed here (NULL when it has no value).
create table if not exists kpi_daily (
    as_of         date not null,
    kpi           varchar not null,
    value         double,          -- NULL when the KPI has no data (empty denominator)
    target        double,
    direction     varchar not null,  -- higher | lower: which side of the target is good
    change_7d     double,
    flag          varchar not null,  -- ok | off_target | alert | no_target | no_data
    n             bigint not null,   -- sample size behind value (its denominator)
    owner         varchar,
    alert         double,
    window_start  date not null,     -- exclusive
    window_end    date not null      -- inclusive (= as_of)
);

delete from kpi_daily where as_of between $start_date and $end_date;

insert into kpi_daily by name
with days as (
    -- the days of the range, plus each day 7 days before one of them whose board is not stored
    -- (change_7d needs its value; a stored board is reused instead of being recomputed)
    select
        range::date as as_of,
        range::date - $kpi_window_days as window_start
    from range($start_date::date - 7, $end_date::date + 1, interval 1 day)
    where range::date >= $start_date
        or range::date not in (select k.as_of from kpi_daily as k)
),

order_days as (
    select
        customer_id,
        order_date,
        sum(count(*)) over (
            partition by customer_id order by order_date rows unbounded preceding
        ) as cum_orders
    from stg_orders
    where is_counted and order_date <= $end_date
    group by customer_id, order_date
),

first_orders as (
    select customer_id, min(order_date) as first_order_date from order_days group by customer_id
),

-- every customer with a counted order by as_of: their last order by window_start and by as_of
customer_days as (
    select d.as_of, d.window_start, f.customer_id, f.first_order_date
    from days as d
    inner join first_orders as f on f.first_order_date <= d.as_of
),

states as (
    select
        c.as_of,
        c.window_start,
        c.customer_id,
        c.first_order_date <= c.window_start as in_start_population,
        coalesce(at_start.order_date > c.window_start - $active_days, false) as active_start,
        at_end.order_date > c.as_of - $active_days as active_end,
        at_end.cum_orders - coalesce(at_start.cum_orders, 0) as window_orders,
        s.tier as start_tier
    from customer_days as c
    asof left join order_days as at_start
        on c.customer_id = at_start.customer_id and c.window_start >= at_start.order_date
    asof inner join order_days as at_end
        on c.customer_id = at_end.customer_id and c.as_of >= at_end.order_date
    left join customer_snapshot as s
        on s.as_of = c.window_start and s.customer_id = c.customer_id
),

order_kpis as (
    select
        as_of,
        count(*) filter (where active_start) as churn_n,
        count(*) filter (where active_start and not active_end) as churned,
        count(*) filter (where active_start and start_tier = 'A') as tier_a_n,
        count(*) filter (where active_start and start_tier = 'A' and active_end) as tier_a_kept,
        count(*) filter (where in_start_population and start_tier = 'D') as tier_d_n,
        count(*) filter (
            where in_start_population and start_tier = 'D' and window_orders > 0
        ) as tier_d_activated,
        count(*) filter (where window_orders >= 1) as buyers,
        count(*) filter (where window_orders >= 2) as repeat_buyers
    from states
    group by as_of
),

complaint_kpis as (
    select
        d.as_of,
        count(*) filter (
            where t.is_resolved_in_sla and t.resolved_at < (d.as_of + 1)::timestamp
        ) as met,
        count(*) filter (
            where t.deadline_at < (d.as_of + 1)::timestamp and not t.is_resolved_in_sla
        ) as breached
    from days as d
    inner join stg_tickets as t
        on t.is_complaint and t.opened_date > d.window_start and t.opened_date <= d.as_of
    group by d.as_of
),

latest_nps as (
    select d.as_of, r.nps_group
    from days as d
    inner join stg_surveys as r
        on r.nps is not null and r.response_date > d.window_start and r.response_date <= d.as_of
    qualify row_number() over (
        partition by d.as_of, r.customer_id order by r.responded_at desc, r.response_id desc
    ) = 1
),

nps_kpis as (
    select
        as_of,
        count(*) as responses,
        count(*) filter (where nps_group = 'promoter') as promoters,
        count(*) filter (where nps_group = 'detractor') as detractors
    from latest_nps
    group by as_of
),

measured as (
    select
        d.as_of,
        d.window_start,
        coalesce(o.churn_n, 0) as churn_n,
        o.churned,
        coalesce(o.tier_a_n, 0) as tier_a_n,
        o.tier_a_kept,
        coalesce(o.tier_d_n, 0) as tier_d_n,
        o.tier_d_activated,
        coalesce(o.buyers, 0) as buyers,
        o.repeat_buyers,
        coalesce(c.met, 0) + coalesce(c.breached, 0) as complaint_n,
        c.met as complaint_met,
        coalesce(n.responses, 0) as responses,
        n.promoters,
        n.detractors
    from days as d
    left join order_kpis as o on d.as_of = o.as_of
    left join complaint_kpis as c on d.as_of = c.as_of
    left join nps_kpis as n on d.as_of = n.as_of
),

kpi_values as (
    select as_of, window_start, kpi, value, n
    from measured,
        lateral (
            select unnest([
                {'kpi': 'churn_rate', 'value': churned / nullif(churn_n, 0), 'n': churn_n},
                {'kpi': 'tier_a_kept_rate', 'value': tier_a_kept / nullif(tier_a_n, 0), 'n': tier_a_n},
                {
                    'kpi': 'complaint_timeliness',
                    'value': complaint_met / nullif(complaint_n, 0),
                    'n': complaint_n
                },
                {
                    'kpi': 'tier_d_activation',
                    'value': tier_d_activated / nullif(tier_d_n, 0),
                    'n': tier_d_n
                },
                {
                    'kpi': 'nps',
                    'value': 100.0 * (promoters - detractors) / nullif(responses, 0),
                    'n': responses
                },
                {
                    'kpi': 'repurchase_rate',
                    'value': repeat_buyers / nullif(buyers, 0),
                    'n': buyers
                }
            ], recursive := true)
        )
),

-- values 7 days before a day of the range: computed here, or the stored board of that day
earlier_values as (
    select as_of, kpi, value from kpi_values
    union all
    select k.as_of, k.kpi, k.value
    from kpi_daily as k
    where k.as_of >= $start_date::date - 7
        and k.as_of < $start_date
        and k.as_of not in (select d.as_of from days as d)
),

board as (
    select
        unnest($kpi_name) as kpi,
        unnest($kpi_target) as target,
        unnest($kpi_alert) as alert,
        unnest($kpi_direction) as direction,
        unnest($kpi_owner) as owner
),

final as (
    select
        v.as_of,
        v.kpi,
        v.value::double as value,
        b.target,
        b.direction,
        v.value - earlier.value as change_7d,
        case
            when v.value is null then 'no_data'
            when b.direction = 'lower' and v.value > b.alert then 'alert'
            when b.direction = 'higher' and v.value < b.alert then 'alert'
            when b.target is null then 'no_target'
            when b.direction = 'lower' and v.value > b.target then 'off_target'
            when b.direction = 'higher' and v.value < b.target then 'off_target'
            else 'ok'
        end as flag,
        v.n,
        b.owner,
        b.alert,
        v.window_start,
        v.as_of as window_end
    from kpi_values as v
    inner join board as b on v.kpi = b.kpi
    left join earlier_values as earlier on earlier.kpi = v.kpi and earlier.as_of = v.as_of - 7
    where v.as_of between $start_date and $end_date
)

select * from final;
