-- grain: restatements: one row per (restated_at, period_type, period_start, table_name, key,
-- metric): a figure of a closed period that changed between two runs, with its old and new value
-- and the cause. period_figures: one row per (table_name, period_type, period_start, key, metric),
-- the closed periods' figures as the last run left them (what the next run compares with).
-- restatement_state: one row, what the last run had seen (newest load, the metric settings).
create table if not exists restatements (
    restated_at  timestamp not null,
    run_id       varchar,
    period_type  varchar not null,
    period_start date not null,
    period_end   date not null,
    table_name   varchar not null,   -- the period mart: retention_period, repurchase_period, ...
    key          varchar not null,   -- its tier ('all', A-D) or priority ('all', urgent, ...)
    metric       varchar not null,   -- the column, e.g. repurchase_rate
    old_value    double,
    new_value    double,
    cause_kind   varchar not null,   -- load | setting | recomputed
    cause        varchar not null,   -- e.g. 'load 7 (orders_late.csv)', 'metrics.active_days'
    load_id      bigint              -- the first load named in cause
);

create table if not exists period_figures (
    table_name   varchar not null,
    period_type  varchar not null,
    period_start date not null,
    period_end   date not null,
    key          varchar not null,
    metric       varchar not null,
    value        double
);

create table if not exists restatement_state (
    recorded_at   timestamp not null,
    loads_seen    bigint,
    settings_json varchar not null
);
