-- grain: one row per (table_name, as_of) of a daily mart that is written for chosen days: when the
-- day was last written and, as JSON, what it was written from. The action list's run of day D also
-- rewrites the current week's Sunday for a changed playbook; it skips the Sunday when the playbook,
-- the Sunday's snapshot (snapshot_params.computed_at) and its customer_value (built_at here) are
-- the ones it was written from.
create table if not exists day_build_state (
    table_name  varchar not null,
    as_of       date not null,
    built_at    timestamp not null,
    params_json varchar not null
);
