-- The distribution of P(alive) among the segment's (tiers $tiers) customers on day $value_day:
-- customers per bin (bin k holds k / $bins <= p_alive < (k + 1) / $bins, 1.0 in the last) and
-- status. Customers without a score (no trusted model) are not counted.
select
    least(floor(v.p_alive * $bins)::integer, $bins - 1) as bin,
    v.status,
    count(*) as customers
from customer_value as v
inner join customer_snapshot as s on v.as_of = s.as_of and v.customer_id = s.customer_id
where v.as_of = $value_day and v.p_alive is not null and list_contains($tiers, s.tier)
group by all
order by bin, v.status
