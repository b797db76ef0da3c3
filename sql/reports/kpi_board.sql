-- The KPI board of day $as_of: one row per KPI of kpi_daily, in the display order $kpi_names
-- (loyalty.vocab.KPI_NAMES); a KPI missing from that list would come last, by name.
select
    kpi,
    value,
    target,
    direction,
    change_7d,
    flag,
    n,
    owner,
    value_low,
    value_high,
    change_z,
    change_significant
from kpi_daily
where as_of = $as_of
order by coalesce(list_position($kpi_names, kpi), len($kpi_names) + 1), kpi
