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
    window_end    date not null,     -- inclusive (= as_of)
    value_low     double,            -- interval at metrics.uncertainty.confidence: Wilson for a
    value_high    double,            -- rate, value -/+ z * std_error for NPS; NULL for money
    std_error     double,            -- of value (rates: sqrt(p(1 - p) / n); NPS in points)
    change_z      double,            -- z of change_7d (two-proportion test; NPS: difference / its se)
    change_significant boolean not null default false  -- |change_z| >= z of alpha, both n >= min_n
);
-- databases made before the uncertainty columns (docs/metrics.md "Uncertainty")
alter table kpi_daily add column if not exists value_low double;
alter table kpi_daily add column if not exists value_high double;
alter table kpi_daily add column if not exists std_error double;
alter table kpi_daily add column if not exists change_z double;
alter table kpi_daily add column if not exists change_significant boolean default false;
