-- customer_value keeps the latest day and the last day (Sunday) of every ISO week; an earlier day
-- that is not a Sunday is dropped once a later day is stored (revenue_at_risk follows it).
delete from customer_value
where isodow(as_of) <> 7 and as_of < (select max(as_of) from customer_value);
