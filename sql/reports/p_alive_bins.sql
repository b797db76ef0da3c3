-- The distribution of P(alive) on day $value_day for every report segment (each tier of $tiers
-- and $all_key: the customers of every tier of $tiers): customers per bin (bin k holds
-- k / $bins <= p_alive < (k + 1) / $bins, 1.0 in the last) and status. Customers without a score
-- (no trusted model) are not counted.
with scored as (
    select
        s.tier,
        least(floor(v.p_alive * $bins)::integer, $bins - 1) as bin,
        v.status
    from customer_value as v
    inner join (
        -- customer_snapshot on $value_day, read from customer_state by constant bounds (the
        -- view's join reads every stored row first: it grows with the history)
        select
            $value_day::date as as_of,
            *,
            ($value_day::date - last_order_at::date)::integer as recency_days
        from customer_state
        where
            valid_from <= $value_day::date
            and coalesce(valid_to, date '9999-12-31') >= $value_day::date
            and exists (select 1 from snapshot_params where as_of = $value_day::date)
    ) as s on v.as_of = s.as_of and v.customer_id = s.customer_id
    where v.as_of = $value_day and v.p_alive is not null and list_contains($tiers, s.tier)
)

select
    case when grouping(tier) = 1 then $all_key else tier end as report_segment,
    bin,
    status,
    count(*) as customers
from scored
group by grouping sets ((tier, bin, status), (bin, status))
order by report_segment, bin, status
