-- The last day with an order on or before day $as_of (freshness).
select max(ordered_at)::date as last_order_day
from orders
where ordered_at < $as_of::date + 1
