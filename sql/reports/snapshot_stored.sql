-- Whether customer_snapshot holds day $as_of.
select count(*) > 0 as stored
from customer_snapshot
where as_of = $as_of
