-- grain: one row per service ticket, with its SLA target and deadline.
-- A view, so it always reflects the latest ingest: nothing to rebuild when a day of tickets
-- arrives. A view cannot hold bound parameters, so the settings it depends on (SLA hours per
-- priority, the complaint category) are the one-row table ticket_settings (ticket_settings.sql).
-- Met/breached depend on the moment the ticket is judged; marts judge it "as of" a day with
-- is_resolved_in_sla and deadline_at (a ticket unresolved past its deadline is a breach).
with source as (
    select * from tickets
),

targets as (
    select
        source.*,
        lower(priority) as priority_key,
        lower(category) = s.complaint_category as is_complaint,
        s.sla_urgent_hours,
        s.sla_important_hours,
        s.sla_general_hours
    from source
    cross join ticket_settings as s
),

final as (
    select
        ticket_id,
        customer_id,
        opened_at,
        opened_at::date as opened_date,
        first_response_at,
        resolved_at,
        category,
        priority_key as priority,
        is_complaint,
        channel,
        satisfaction,
        case priority_key
            when 'urgent' then sla_urgent_hours
            when 'important' then sla_important_hours
            when 'general' then sla_general_hours
        end as sla_hours,
        opened_at + to_microseconds((sla_hours * 3600 * 1000000)::bigint) as deadline_at,
        coalesce(resolved_at <= deadline_at, false) as is_resolved_in_sla,
        date_diff('second', opened_at, first_response_at) / 3600.0 as first_response_hours,
        date_diff('second', opened_at, resolved_at) / 3600.0 as resolution_hours,
        -- the load that wrote the row (ingest_log): what was loaded since a build
        _load_id
    from targets
)

select * from final
