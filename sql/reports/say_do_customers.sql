-- The customers behind each say-do cell of one period (tiers $tiers at the answer's day, or
-- everyone with $everyone): customer ids only, never a contact field; by NPS class in the order
-- $classes, behaviour, then value (after for buyers, before for the lapsed), at most $row_limit
-- rows (NULL: all, for the CSV).
select
    customer_id::varchar as customer_id,
    tier,
    nps,
    nps_class,
    responded_at::date as answered_on,
    behaviour,
    orders_after,
    value_after::double as value_after,
    orders_before,
    value_before::double as value_before,
    window_end,
    status_at_end,
    status_source
from say_do
where
    period_type = $period_type
    and period_start = $period_start
    and window_elapsed
    and ($everyone or list_contains($tiers, tier))
order by
    coalesce(list_position($classes, nps_class), len($classes) + 1) asc,
    behaviour desc,
    greatest(value_after, value_before) desc,
    customer_id asc
limit $row_limit
