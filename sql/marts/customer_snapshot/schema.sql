-- grain: one row per (as_of, customer_id); the declared column types and order of customer_snapshot
-- (created once; customer_snapshot.sql in this folder computes the rows).
create table if not exists customer_snapshot (
    as_of               date not null,
    customer_id         varchar not null,
    first_order_at      timestamp not null,   -- first counted order ever
    last_order_at       timestamp not null,   -- last counted order on or before as_of
    recency_days        integer not null,     -- as_of - date of last_order_at
    frequency           integer not null,     -- counted orders in (as_of - rfm_window_days, as_of]
    monetary            decimal(38, 2) not null,  -- their summed value (amount - refund_amount)
    r                   integer not null,
    f                   integer not null,
    m                   integer not null,
    rfm_score           double not null,      -- 0..100, weighted mean of r, f, m
    tier                varchar not null,     -- A | B | C | D
    segment             varchar not null,     -- from the segment map over (r, fm)
    lifecycle_stage     varchar not null,     -- new | growing | mature
    is_active           boolean not null,     -- counted order in (as_of - active_days, as_of]
    inactive            boolean not null,     -- churn flag: recency_days > inactive_days
    complaints          boolean not null,     -- churn flag: complaint_count > complaint_max
    activity_drop       boolean not null,     -- churn flag: recent orders fell below their own rate
    churn_risk          boolean not null,     -- any churn flag
    flagged_since       date,                 -- first day of the current run of churn_risk days
    churn_reasons       varchar,              -- the flags that are set, comma separated
    tenure_days         integer not null,     -- as_of - date of first_order_at
    fm                  integer not null,     -- floor((f + m + 1) / 2), the segment map's axis
    lifetime_orders     integer not null,     -- counted orders on or before as_of
    lifetime_value      decimal(38, 2) not null,
    orders_recent       integer not null,     -- counted orders in (as_of - drop_window_days, as_of]
    drop_history_days   integer not null,     -- length of the activity_drop history window
    drop_history_orders integer not null,     -- counted orders in that window
    complaint_count     integer not null      -- complaint tickets opened in the complaint window
);
