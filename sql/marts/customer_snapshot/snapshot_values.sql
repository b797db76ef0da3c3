-- grain: one row per (as_of, measure, value) of the days computed (a step of customer_snapshot, a
-- temp table): how many customers of the day's population have that value of the measure:
-- r (recency_days) or f (frequency). The scores rank over these rows, not over every customer
-- (values tie a lot); money, with nearly a value per customer, is not ranked value by value
-- (snapshot_money_edges.sql). On a carried night carry/snapshot_values.sql builds
-- it from the whole population while snapshot_days holds only the customers computed.
select as_of, 'r' as measure, recency_days::bigint as value, count(*) as customers
from snapshot_days
group by all
union all
select as_of, 'f' as measure, frequency::bigint as value, count(*) as customers
from snapshot_days
group by all
