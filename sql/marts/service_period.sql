-- grain: one row per (period_type, period_start, priority), priority in urgent, important,
-- general and 'all'. Tickets opened in period_start..end_as_of, judged as of the end of the last
-- stored snapshot day (judged_at): met = resolved within its SLA hours; breached = deadline passed
-- (before judged_at) without a resolution in time; otherwise still open (not in sla_rate).
-- sla_rate = met / (met + breached); complaint_sla_rate is the same over complaint tickets
-- ("complaint resolution timeliness"). n of each: sla_n = met + breached, complaint_sla_n; their
-- Wilson intervals at $z_interval (<rate>_low, <rate>_high; macros.sql).
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
    inner join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on sp.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
),

judged as (
    select (max(as_of) + 1)::timestamp as judged_at from snapshot_params
),

period_tickets as (
    select
        p.period_type,
        p.period_start,
        t.*,
        t.is_resolved_in_sla and t.resolved_at < j.judged_at as is_met,
        t.deadline_at < j.judged_at and not t.is_resolved_in_sla as is_breached,
        case when t.first_response_at < j.judged_at then t.first_response_hours end
            as known_first_response_hours,
        case when t.resolved_at < j.judged_at then t.resolution_hours end as known_resolution_hours
    from periods as p
    inner join stg_tickets as t on t.opened_date between p.period_start and p.end_as_of
    cross join judged as j
),

ticket_rows as (
    select * from period_tickets
    union all
    select * replace ($all_key as priority) from period_tickets
),

counts as (
    select
        period_type,
        period_start,
        priority,
        count(*) as tickets,
        count(*) filter (where is_met) as met,
        count(*) filter (where is_breached) as breached,
        count(*) filter (where is_complaint) as complaint_tickets,
        count(*) filter (where is_complaint and is_met) as complaint_met,
        count(*) filter (where is_complaint and is_breached) as complaint_breached,
        median(known_first_response_hours) as median_first_response_hours,
        median(known_resolution_hours) as median_resolution_hours,
        avg(satisfaction) filter (where satisfaction between 1 and 5) as satisfaction_mean
    from ticket_rows
    group by all
),

active_at_end as (
    select p.period_type, p.period_start, count(*) as active_customers
    from periods as p
    inner join day_state as s on s.as_of = p.end_as_of and s.is_active
    group by all
),

grid as (
    select p.*, t.priority
    from periods as p
    cross join (select unnest($priority_keys) as priority) as t
),

final as (
    select
        g.period_type,
        g.period_start,
        g.priority,
        coalesce(c.tickets, 0) as tickets,
        coalesce(c.met, 0) as met,
        coalesce(c.breached, 0) as breached,
        c.met / nullif(c.met + c.breached, 0) as sla_rate,
        c.complaint_met / nullif(c.complaint_met + c.complaint_breached, 0) as complaint_sla_rate,
        coalesce(c.met + c.breached, 0) as sla_n,
        wilson_low(c.met, c.met + c.breached, $z_interval) as sla_rate_low,
        wilson_high(c.met, c.met + c.breached, $z_interval) as sla_rate_high,
        coalesce(c.complaint_met + c.complaint_breached, 0) as complaint_sla_n,
        wilson_low(c.complaint_met, c.complaint_met + c.complaint_breached, $z_interval)
            as complaint_sla_rate_low,
        wilson_high(c.complaint_met, c.complaint_met + c.complaint_breached, $z_interval)
            as complaint_sla_rate_high,
        c.median_first_response_hours,
        c.median_resolution_hours,
        c.satisfaction_mean,
        coalesce(c.tickets, 0) - coalesce(c.met, 0) - coalesce(c.breached, 0) as open_tickets,
        coalesce(c.complaint_tickets, 0) as complaint_tickets,
        coalesce(c.complaint_met, 0) as complaint_met,
        coalesce(c.complaint_breached, 0) as complaint_breached,
        100.0 * coalesce(c.complaint_tickets, 0) / nullif(a.active_customers, 0)
            as complaints_per_100_active,
        g.period_end,
        g.end_as_of,
        g.is_complete
    from grid as g
    left join counts as c
        on g.period_type = c.period_type
        and g.period_start = c.period_start
        and g.priority = c.priority
    left join active_at_end as a
        on g.period_type = a.period_type and g.period_start = a.period_start
)

select * from final
order by period_type, period_start, priority
