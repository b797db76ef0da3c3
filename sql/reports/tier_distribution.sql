-- Customers and their value per tier on day $as_of.
select
    tier,
    count(*) as customers,
    sum(monetary)::double as monetary
from customer_snapshot
where as_of = $as_of
group by tier
order by tier
