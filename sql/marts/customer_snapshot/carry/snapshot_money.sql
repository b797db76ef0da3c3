-- grain: one row per (as_of, value) of the money of the whole population at D = $start_date (a step
-- of customer_snapshot for a carried night, a view of carry/snapshot_values, as
-- snapshot_money.sql gives it per customer-day for the other paths): each value in whole cents and
-- how many customers have it, the values snapshot_money_edges.sql finds the day's money edges in.
select
    as_of,
    value,
    customers
from snapshot_values
where measure = 'm'
