-- The rules' at-risk list (used when the model's scores are not): every customer of the segment
-- (tiers $tiers) flagged churn_risk on day $as_of, by value (then id), with the Churn warnings
-- sheet's columns in order (those of churn_warnings_model.sql; the model's status, p_alive and
-- value at risk are empty here); at most $row_limit rows (NULL: all, for the CSV). The email is
-- masked here (a***@example.com): the raw address never leaves the database.
select
    s.customer_id::varchar as customer_id,
    masked_email(c.email) as masked_email,
    s.tier,
    s.segment,
    null::varchar as status,
    null::double as p_alive,
    null::double as value_at_risk,
    s.last_order_at::date as last_order,
    s.recency_days,
    s.frequency,
    s.monetary::double as monetary,
    s.rfm_score,
    s.inactive,
    s.complaints,
    s.activity_drop,
    s.flagged_since
from (
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
) as s
left join customers as c on s.customer_id = c.customer_id
where s.churn_risk and list_contains($tiers, s.tier)
order by s.monetary desc, s.customer_id asc
limit $row_limit
