-- The latest stored customer_value day on or before $as_of (NULL when none): the day the model's
-- scores, statuses and revenue at risk are shown for.
select max(as_of) as value_day
from customer_value
where as_of <= $as_of
