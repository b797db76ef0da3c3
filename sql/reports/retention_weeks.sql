-- Retention of the weeks starting on $period_starts for the tiers $tiers ('all' is the whole base).
select
    period_type,
    period_start,
    tier,
    start_count,
    end_count,
    new_count,
    kept_count,
    retention_rate,
    kept_rate,
    churn_rate,
    activation_rate,
    kept_rate_low,
    kept_rate_high,
    churn_rate_low,
    churn_rate_high,
    start_population,
    activation_rate_low,
    activation_rate_high
from retention_period
where period_type = 'week'
    and list_contains($period_starts::date[], period_start)
    and list_contains($tiers, tier)
order by period_start, tier
