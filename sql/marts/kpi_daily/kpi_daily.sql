-- grain: one row per (as_of, kpi) for every day as_of in $start_date..$end_date and every KPI of
-- the board. Each KPI is measured over the trailing window (as_of - kpi_window_days, as_of]:
-- window_start = as_of - kpi_window_days is "start" (tiers from that day's stored snapshot),
-- window_end = as_of is "end". Targets, alert levels, directions and owners are settings.
-- change_7d = value - value of the same KPI 7 days earlier: the stored board of that day when it
-- is stored and outside the range, else recomputed here (NULL when it has no value).
-- Uncertainty (docs/metrics.md): value_low/high is the Wilson interval of a rate (k of n) and
-- NPS -/+ z * its standard error, at $z_interval; change_z tests change_7d (a rate: the pooled
-- two-proportion z-test; NPS: the difference over the root of the two squared standard errors);
-- change_significant when |change_z| >= $z_alpha and both days have n >= $min_n.
-- The last step of kpi_daily (loyalty.marts.kpis runs them and replaces exactly the days
-- $start_date..$end_date with these rows). Earlier steps, temp tables: kpi_days.sql (the days
-- computed), then the customer counts of each of them, kpi_counts, from the stored snapshots'
-- intervals (snapshots/kpi_counts.sql) or from the orders (orders/kpi_states.sql, per customer and
-- day, then orders/kpi_counts.sql).
with complaint_kpis as (
    select
        d.as_of,
        count(*) filter (
            where t.is_resolved_in_sla and t.resolved_at < (d.as_of + 1)::timestamp
        ) as met,
        count(*) filter (
            where t.deadline_at < (d.as_of + 1)::timestamp and not t.is_resolved_in_sla
        ) as breached
    from kpi_days as d
    inner join stg_tickets as t
        on t.is_complaint and t.opened_date > d.window_start and t.opened_date <= d.as_of
    group by d.as_of
),

latest_nps as (
    select d.as_of, r.nps_group
    from kpi_days as d
    inner join stg_surveys as r
        on r.nps is not null and r.response_date > d.window_start and r.response_date <= d.as_of
    qualify row_number() over (
        partition by d.as_of, r.customer_id order by r.responded_at desc, r.response_id desc
    ) = 1
),

csat_kpis as (
    select
        d.as_of,
        count(r.csat) as csat_n,
        count(*) filter (where r.csat >= 4) as csat_satisfied
    from kpi_days as d
    inner join stg_surveys as r
        on r.csat is not null and r.response_date > d.window_start and r.response_date <= d.as_of
    group by d.as_of
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
        n.detractors,
        coalesce(cs.csat_n, 0) as csat_n,
        cs.csat_satisfied,
        r.value_at_risk,
        r.at_risk_customers
    from kpi_days as d
    left join kpi_counts as o on d.as_of = o.as_of
    left join complaint_kpis as c on d.as_of = c.as_of
    left join nps_kpis as n on d.as_of = n.as_of
    left join csat_kpis as cs on d.as_of = cs.as_of
    -- the churn model's value at risk, on the days customer_value keeps (docs/model.md)
    left join revenue_at_risk as r
        on d.as_of = r.as_of and r.dimension = $all_key and r.key = $all_key
),

-- k: the successes of a rate KPI (value = k / n); se: the standard error of NPS
board_values as (
    select as_of, window_start, kpi, value, n, k, se
    from measured,
        lateral (
            select unnest([
                {
                    'kpi': 'churn_rate',
                    'value': churned / nullif(churn_n, 0),
                    'n': churn_n,
                    'k': churned,
                    'se': null::double
                },
                {
                    'kpi': 'tier_a_kept_rate',
                    'value': tier_a_kept / nullif(tier_a_n, 0),
                    'n': tier_a_n,
                    'k': tier_a_kept,
                    'se': null::double
                },
                {
                    'kpi': 'complaint_timeliness',
                    'value': complaint_met / nullif(complaint_n, 0),
                    'n': complaint_n,
                    'k': complaint_met,
                    'se': null::double
                },
                {
                    'kpi': 'tier_d_activation',
                    'value': tier_d_activated / nullif(tier_d_n, 0),
                    'n': tier_d_n,
                    'k': tier_d_activated,
                    'se': null::double
                },
                {
                    'kpi': 'nps',
                    'value': 100.0 * (promoters - detractors) / nullif(responses, 0),
                    'n': responses,
                    'k': null::bigint,
                    'se': nps_std_error(
                        promoters / nullif(responses, 0),
                        detractors / nullif(responses, 0),
                        responses
                    )
                },
                {
                    'kpi': 'csat',
                    'value': csat_satisfied / nullif(csat_n, 0),
                    'n': csat_n,
                    'k': csat_satisfied,
                    'se': null::double
                },
                {
                    'kpi': 'repurchase_rate',
                    'value': repeat_buyers / nullif(buyers, 0),
                    'n': buyers,
                    'k': repeat_buyers,
                    'se': null::double
                },
                {
                    'kpi': 'revenue_at_risk',
                    'value': value_at_risk::double,
                    'n': coalesce(at_risk_customers, 0),
                    'k': null::bigint,
                    'se': null::double
                }
            ], recursive := true)
        ) as board_rows
),

kpi_values as (
    select
        as_of,
        window_start,
        kpi,
        value,
        n,
        case
            when list_contains($rate_kpis, kpi) then wilson_low(k, n, $z_interval)
            -- greatest/least skip NULLs: an NPS without responses has no interval
            when kpi = 'nps' and value is not null then greatest(value - $z_interval * se, -100)
        end as value_low,
        case
            when list_contains($rate_kpis, kpi) then wilson_high(k, n, $z_interval)
            when kpi = 'nps' and value is not null then least(value + $z_interval * se, 100)
        end as value_high,
        case
            when list_contains($rate_kpis, kpi) then sqrt(value * (1 - value) / nullif(n, 0))
            when kpi = 'nps' then se
        end as std_error
    from board_values
),

-- values 7 days before a day of the range: computed here, or the stored board of that day
earlier_values as (
    select as_of, kpi, value, n, std_error from kpi_values
    union all
    select k.as_of, k.kpi, k.value, k.n, k.std_error
    from kpi_daily as k
    where k.as_of >= $start_date::date - 7
        and k.as_of < $start_date
        and k.as_of not in (select d.as_of from kpi_days as d)
),

board as (
    select
        unnest($kpi_name) as kpi,
        unnest($kpi_target) as target,
        unnest($kpi_alert) as alert,
        unnest($kpi_direction) as direction,
        unnest($kpi_owner) as owner
),

changes as (
    select
        v.*,
        earlier.value as earlier_value,
        earlier.n as earlier_n,
        case
            when list_contains($rate_kpis, v.kpi)
                then two_proportion_z(v.value, v.n, earlier.value, earlier.n)
            when v.kpi = 'nps'
                then difference_z(v.value - earlier.value, v.std_error, earlier.std_error)
        end as change_z
    from kpi_values as v
    left join earlier_values as earlier on earlier.kpi = v.kpi and earlier.as_of = v.as_of - 7
),

final as (
    select
        v.as_of,
        v.kpi,
        v.value::double as value,
        b.target,
        b.direction,
        v.value - v.earlier_value as change_7d,
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
        v.as_of as window_end,
        v.value_low,
        v.value_high,
        v.std_error,
        v.change_z,
        coalesce(
            abs(v.change_z) >= $z_alpha and v.n >= $min_n and v.earlier_n >= $min_n, false
        ) as change_significant
    from changes as v
    inner join board as b on v.kpi = b.kpi
    where v.as_of between $start_date and $end_date
)

select * from final
