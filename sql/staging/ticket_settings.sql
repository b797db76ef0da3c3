-- grain: one row: the settings stg_tickets applies (SLA hours per priority, the complaint
-- category), as a table because the view cannot hold bound parameters.
with final as (
    select
        $sla_urgent_hours::double as sla_urgent_hours,
        $sla_important_hours::double as sla_important_hours,
        $sla_general_hours::double as sla_general_hours,
        $complaint_category::varchar as complaint_category
)

select * from final
