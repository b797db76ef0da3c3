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
inner join (
    -- customer_snapshot on $as_of, read from customer_state by constant bounds (the
    -- view's join reads every stored row first: it grows with the history)
    select
        $as_of::date as as_of,
        *,
        ($as_of::date - last_order_at::date)::integer as recency_days
    from customer_state
    where
        valid_from <= $as_of::date
        and coalesce(valid_to, date '9999-12-31') >= $as_of::date
        and exists (select 1 from snapshot_params where as_of = $as_of::date)
) as s on v.as_of = s.as_of and v.customer_id = s.customer_id
left join customers as c on s.customer_id = c.customer_id
where v.as_of = $as_of and v.status = $status and list_contains($tiers, s.tier)
order by v.value_at_risk desc nulls last, s.customer_id asc
limit $row_limit
