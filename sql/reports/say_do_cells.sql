-- The say-do gap of one period for every report segment: customers with an NPS answer in it
-- (latest answer) by NPS class and behaviour in the window after the answer, with their orders
-- and value after, value before, and how many the status at the window's end calls
-- $risk_statuses. A report segment is a tier of $tiers (the tier at the answer's day) or
-- $all_key (everyone, with or without a tier).
with cells as (
    select
        grouping(tier) = 1 as everyone,
        tier,
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
    group by grouping sets ((tier, nps_class, behaviour), (nps_class, behaviour))
)

select
    case when everyone then $all_key else tier end as report_segment,
    nps_class,
    behaviour,
    customers,
    orders_after,
    value_after,
    value_before,
    at_risk_at_end
from cells
where everyone or list_contains($tiers, tier)
order by report_segment, nps_class, behaviour
