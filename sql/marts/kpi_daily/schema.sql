-- grain: one row per (as_of, kpi); the declared column types and order of kpi_daily (created
-- once; kpi_daily.sql in this folder computes the rows).
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
