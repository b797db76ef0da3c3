-- Tickets and SLA per priority for the week starting $period_start, in the order $priorities;
-- open_tickets: neither met nor breached yet (not in sla_rate).
select
    priority,
    tickets,
    met,
    breached,
    open_tickets,
    sla_rate,
    complaint_sla_rate,
    median_first_response_hours,
    median_resolution_hours,
    satisfaction_mean,
    sla_n,
    sla_rate_low,
    sla_rate_high,
    complaint_sla_n,
    complaint_sla_rate_low,
    complaint_sla_rate_high
from service_period
where period_type = 'week' and period_start = $period_start
order by coalesce(list_position($priorities, priority), len($priorities) + 1), priority
