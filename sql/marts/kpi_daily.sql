-- grain: one row per (as_of, kpi) for every day as_of in $start_date..$end_date and every KPI of
-- the board. Each KPI is measured over the trailing window (as_of - kpi_window_days, as_of]:
-- window_start = as_of - kpi_window_days is "start" (tiers from that day's stored snapshot),
-- window_end = as_of is "end". Targets, alert levels, directions and owners are settings.
-- change_7d = value - value of the same KPI 7 days earlier: the stored board of that day when it
-- is stored and outside the range, else recomputed here (NULL when it has no value).
create table if not exists kpi_daily (
    as_of         date not null,
    kpi           varchar not null,
    value         double,          -- NULL when the KPI has no data (empty denominator)
    target        double,
    direction     varchar not null,  -- higher | lower: which side of the target is good
    change_7d     double,
    flag          varchar not null,  -- ok | off_target | alert | no_target | no_data
    n             bigint not null,   -- sample size behind value (its denominator)
    owner         varchar,
    alert         double,
    window_start  date not null,     -- exclusive
    window_end    date not null      -- inclusive (= as_of)
);

delete from kpi_daily where as_of between $start_date and $end_date;

-- the days computed in this run (see the comment in the query)
create or replace temp table kpi_days as
with days as (
    -- the days of the range, plus each day 7 days before one of them whose board is not stored
    -- (change_7d needs its value; a stored board is reused instead of being recomputed)
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

select * from days;
