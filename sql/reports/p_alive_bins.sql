-- The distribution of P(alive) among the segment's (tiers $tiers) customers on day $value_day:
-- customers per bin (bin k holds k / $bins <= p_alive < (k + 1) / $bins, 1.0 in the last) and
-- status. Customers without a score (no trusted model) are not counted.
select
    least(floor(v.p_alive * $bins)::integer, $bins - 1) as bin,
    v.status,
    count(*) as customers
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
group by all
order by bin, v.status
