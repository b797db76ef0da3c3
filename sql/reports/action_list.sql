-- The action list of day $as_of for the customers of tiers $tiers (and owner $owner unless NULL),
-- by value at risk (then id), with the Actions sheet's columns in order; at most $row_limit rows
-- (NULL: all, for the CSV per owner). The email is masked here: the raw address never leaves the
-- database; names and phones are never read. The rows are cut to $row_limit before the customers'
-- emails are joined: a sheet's top rows then join 50,000 emails, not every customer's.
select
    a.customer_id::varchar as customer_id,
    masked_email(c.email) as masked_email,
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
from (
    select
        customer_id,
        tier,
        segment,
        lifecycle_stage,
        status,
        churn_reasons,
        reason,
        action,
        owner,
        value_at_risk,
        value_source
    from action_list
    where
        as_of = $as_of
        and list_contains($tiers, tier)
        and ($owner::varchar is null or owner = $owner::varchar)
    order by value_at_risk desc nulls last, customer_id asc
    limit $row_limit
) as a
left join customers as c on a.customer_id = c.customer_id
order by a.value_at_risk desc nulls last, a.customer_id asc
