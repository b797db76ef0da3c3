-- grain: customer_state, one row per (customer_id, valid_from). Created once; snapshot_rows.sql and
-- the state/ steps in this folder compute and store the rows; snapshot_view.sql shows them as
-- customer_snapshot. On DuckDB the table is then split in two, the closed rows and the current ones,
-- and customer_state becomes their union (loyalty.engine.state_split).
--
-- History is stored by change, not by day: a customer's row holds from valid_from to valid_to (both
-- inclusive; valid_to null = on every later stored day) and applies on every stored day in between,
-- over which every stored column is unchanged. The columns that move with the day itself
-- (recency_days, tenure_days, drop_history_days) are not stored: the view derives them from as_of.
create table if not exists customer_state (
    customer_id         varchar not null,
    valid_from          date not null,
    valid_to            date,                 -- null: still current
    first_order_at      timestamp not null,   -- first counted order ever
    last_order_at       timestamp not null,   -- last counted order on or before as_of
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
    fm                  integer not null,     -- floor((f + m + 1) / 2), the segment map's axis
    lifetime_orders     integer not null,     -- counted orders on or before as_of
    lifetime_value      decimal(38, 2) not null,
    orders_recent       integer not null,     -- counted orders in (as_of - drop_window_days, as_of]
    drop_history_orders integer not null,     -- counted orders in the activity_drop history window
    complaint_count     integer not null,     -- complaint tickets opened in the complaint window
    written_at          timestamp             -- when the run that wrote the row computed it
);

-- state tables created before written_at existed
alter table customer_state add column if not exists written_at timestamp;
