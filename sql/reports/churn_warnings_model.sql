-- The model's at-risk list: every customer of the segment (tiers $tiers) whose status on day
-- $as_of is $status (at_risk), by value at risk (then id), in the columns of churn_warnings.sql; at most
-- $row_limit rows (NULL: all, for the CSV). Lapsed and lost customers are never on it. The email is
-- masked here: the raw address never leaves the database.
select
    s.customer_id::varchar as customer_id,
    masked_email(c.email) as masked_email,
    s.tier,
    s.segment,
    v.status,
    v.p_alive,
    v.value_at_risk::double as value_at_risk,
    s.last_order_at::date as last_order,
    s.recency_days,
    s.frequency,
    s.monetary::double as monetary,
    s.rfm_score,
    s.inactive,
    s.complaints,
    s.activity_drop,
    s.flagged_since
from customer_value as v
inner join customer_snapshot as s on v.as_of = s.as_of and v.customer_id = s.customer_id
left join customers as c on s.customer_id = c.customer_id
where v.as_of = $as_of and v.status = $status and list_contains($tiers, s.tier)
order by v.value_at_risk desc nulls last, s.customer_id asc
limit $row_limit
