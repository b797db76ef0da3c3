-- PERSONAL DATA: the CRM team's action list of day $as_of, every customer with name, email and
-- phone unmasked. Read only when `playbook.unmasked_crm_export` is on, and only to write the one
-- CSV under <output>/<week>/crm/ (reports/actions_export.py); never shown in a report or email.
select
    a.customer_id::varchar as customer_id,
    c.name,
    c.email,
    c.phone,
    a.tier,
    a.segment,
    a.lifecycle_stage,
    a.status,
    a.churn_reasons,
    a.reason,
    a.action,
    a.owner,
    a.value_at_risk::double as value_at_risk,
    a.value_source
from action_list as a
left join customers as c on a.customer_id = c.customer_id
where a.as_of = $as_of
order by a.owner asc, a.value_at_risk desc nulls last, a.customer_id asc
