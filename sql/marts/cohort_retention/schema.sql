-- grain: one row per (row_type, cohort_month, k); the declared column types and order of
-- cohort_retention (created once; cohort_retention.sql in this folder computes the rows).
create table if not exists cohort_retention (
    row_type       varchar,   -- cohort | average
    cohort_month   date,      -- NULL on the average rows
    k              integer,   -- months after the cohort month, 0..11
    activity_month date,      -- cohort_month + k; NULL on the average rows
    size           bigint,
    active_count   bigint,
    share          double,
    is_complete    boolean
);
