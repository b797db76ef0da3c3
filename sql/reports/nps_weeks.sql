-- NPS, CSAT and CES of the weeks starting on $period_starts for the tiers $tiers ('all' is the
-- whole base).
select
    period_type,
    period_start,
    tier,
    responses,
    promoters,
    passives,
    detractors,
    nps,
    nps_moe95,
    low_sample,
    csat,
    csat_n,
    ces_mean,
    ces_n,
    nps_low,
    nps_high,
    nps_std_error,
    csat_low,
    csat_high,
    active_customers,
    active_respondents,
    response_rate,
    response_rate_low,
    response_rate_high
from nps_period
where period_type = 'week'
    and list_contains($period_starts::date[], period_start)
    and list_contains($tiers, tier)
order by period_start, tier
