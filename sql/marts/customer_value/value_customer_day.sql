-- grain: one row per customer of the work table value_customers (value_customers.sql: the
-- per-customer sums at day D = $as_of), with D and the backtest's calibration end
-- C = $calibration_end as columns: value_summary.sql's input for one day (a work view of
-- loyalty.marts.value; value_customer_days.sql makes the same rows for many days at once).
select
    *,
    $as_of::date as as_of,
    $calibration_end::date as calibration_end
from value_customers
