-- Revenue at risk of the whole base (dimension $dimension_all) and of the tiers $tiers (dimension
-- $dimension_tier) on each stored day of $days (the last day of each week of the trend).
select
    as_of,
    dimension,
    key,
    at_risk_customers,
    value_at_risk::double as value_at_risk
from revenue_at_risk
where
    list_contains($days::date[], as_of)
    and (dimension = $dimension_all or (dimension = $dimension_tier and list_contains($tiers, key)))
order by as_of, dimension, key
