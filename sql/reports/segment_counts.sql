-- The segment's (tiers $tiers) customers on day $as_of: counts, value, average score and the
-- customers behind each churn flag.
select
    count(*) as customers,
    count(*) filter (where is_active) as active_customers,
    count(*) filter (where churn_risk) as at_risk_customers,
    coalesce(sum(monetary), 0)::double as monetary_total,
    avg(rfm_score) as avg_score,
    count(*) filter (where inactive) as inactive,
    count(*) filter (where complaints) as complaints,
    count(*) filter (where activity_drop) as activity_drop
from customer_snapshot
where as_of = $as_of and list_contains($tiers, tier)
