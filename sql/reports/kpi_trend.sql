-- The value of every KPI on each day of $days (the last day of each week of the trend).
select
    as_of,
    kpi,
    value
from kpi_daily
where list_contains($days::date[], as_of)
order by as_of, kpi
