-- grain: one row per (as_of, customer_id) of snapshot_days (a step of customer_snapshot for one day
-- from the orders or a range, a view): each customer-day's money in whole cents, one customer
-- each: the values snapshot_money_edges.sql finds the day's money edges in. On a carried night
-- carry/snapshot_money.sql gives the whole population's values instead, one row per value.
select
    as_of,
    monetary_cents as value,
    1::bigint as customers
from snapshot_days
