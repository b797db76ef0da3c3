-- grain: one row per (table_name, period_type, period_start, key, metric): the figures of the
-- closed periods (report_periods.is_complete) that the restatement log watches, as the period
-- marts hold them now. A service row counts only once none of its tickets is still open (until
-- then its SLA figures still move as tickets are judged: that is not a restatement).
with closed as (
    select period_type, period_start, period_end
    from report_periods
    where is_complete
),

retention as (
    select
        period_type,
        period_start,
        tier as key,
        unnest([
            {'metric': 'retention_rate', 'value': retention_rate::double},
            {'metric': 'kept_rate', 'value': kept_rate::double},
            {'metric': 'activation_rate', 'value': activation_rate::double},
            {'metric': 'start_count', 'value': start_count::double}
        ]) as figure
    from retention_period
),

repurchase as (
    select
        period_type,
        period_start,
        tier as key,
        unnest([
            {'metric': 'repurchase_rate', 'value': repurchase_rate::double},
            {'metric': 'buyers', 'value': buyers::double},
            {'metric': 'repeat_buyers', 'value': repeat_buyers::double}
        ]) as figure
    from repurchase_period
),

nps as (
    select
        period_type,
        period_start,
        tier as key,
        unnest([
            {'metric': 'nps', 'value': nps::double},
            {'metric': 'responses', 'value': responses::double},
            {'metric': 'csat', 'value': csat::double}
        ]) as figure
    from nps_period
),

service as (
    select
        period_type,
        period_start,
        priority as key,
        unnest([
            {'metric': 'sla_rate', 'value': sla_rate::double},
            {'metric': 'tickets', 'value': tickets::double},
            {'metric': 'complaint_sla_rate', 'value': complaint_sla_rate::double}
        ]) as figure
    from service_period
    where open_tickets = 0
),

watched as (
    select 'retention_period' as table_name, period_type, period_start, key, figure from retention
    union all
    select 'repurchase_period' as table_name, period_type, period_start, key, figure from repurchase
    union all
    select 'nps_period' as table_name, period_type, period_start, key, figure from nps
    union all
    select 'service_period' as table_name, period_type, period_start, key, figure from service
),

final as (
    select
        w.table_name,
        w.period_type,
        w.period_start,
        c.period_end,
        w.key,
        w.figure.metric as metric,
        -- NaN compares as "no value"
        case when isnan(w.figure.value) then null else w.figure.value end as value
    from watched as w
    inner join closed as c on w.period_type = c.period_type and w.period_start = c.period_start
)

select * from final
