-- Customers per RFM segment among the segment's (tiers $tiers) customers on day $as_of.
select
    segment,
    count(*) as customers
from customer_snapshot
where as_of = $as_of and list_contains($tiers, tier)
group by segment
order by customers desc, segment asc
