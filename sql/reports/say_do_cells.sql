-- The say-do gap of one period: customers with an NPS answer in it (latest answer, the tiers
-- $tiers at the answer's day, or everyone with $everyone) by NPS class and behaviour in the
-- window after the answer, with their orders and value after, value before, and how many the
-- status at the window's end calls $risk_statuses.
select
    nps_class,
    behaviour,
    count(*) as customers,
    sum(orders_after) as orders_after,
    sum(value_after)::double as value_after,
    sum(value_before)::double as value_before,
    count(*) filter (where list_contains($risk_statuses, status_at_end)) as at_risk_at_end
from say_do
where
    period_type = $period_type
    and period_start = $period_start
    and window_elapsed
    and ($everyone or list_contains($tiers, tier))
group by all
order by nps_class, behaviour
