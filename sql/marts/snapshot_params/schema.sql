-- grain: one row per snapshot day as_of; the declared column types and order of snapshot_params
-- (created once; snapshot_params.sql in this folder computes the rows).
create table if not exists snapshot_params (
    as_of        date not null,
    params_json  varchar not null,
    computed_at  timestamp not null,
    run_id       varchar,
    loads_seen   bigint    -- the newest ingest_log load_id when computed: the next day may carry
                           -- this day forward only if no older-dated row was loaded since
);

-- databases created before loads_seen existed
alter table snapshot_params add column if not exists loads_seen bigint;
