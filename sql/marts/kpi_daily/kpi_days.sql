-- grain: one row per day as_of the board is computed for in this run (a step of kpi_daily, a temp
-- table), with its window start: the days $start_date..$end_date, plus each day 7 days before one
-- of them whose board is not stored (change_7d needs its value; a stored board is reused instead
-- of being recomputed).
with days as (
    select
        range::date as as_of,
        range::date - $kpi_window_days as window_start
    from range($start_date::date - 7, $end_date::date + 1, interval 1 day)
    where range::date >= $start_date
        or (
            range::date <= $end_date::date - 7
            and range::date not in (select k.as_of from kpi_daily as k)
        )
)

select * from days
