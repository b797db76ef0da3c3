-- Repurchase of the weeks starting on $period_starts for the tiers $tiers ('all' is the whole base).
select
    period_type,
    period_start,
    tier,
    buyers,
    repeat_buyers,
    repurchase_rate,
    repurchase_rate_low,
    repurchase_rate_high
from repurchase_period
where period_type = 'week'
    and list_contains($period_starts::date[], period_start)
    and list_contains($tiers, tier)
order by period_start, tier
