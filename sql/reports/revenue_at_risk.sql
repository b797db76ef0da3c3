-- Revenue at risk on day $value_day (revenue_at_risk): the whole base, each tier and each RFM
-- segment, with its customers, at-risk customers, value at risk and expected value (CLV).
select
    dimension,
    key,
    customers,
    at_risk_customers,
    value_at_risk::double as value_at_risk,
    clv::double as clv
from revenue_at_risk
where as_of = $value_day
order by dimension asc, value_at_risk desc nulls last, key asc
