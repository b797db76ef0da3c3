-- grain: one row per incrementally built period mart (table_name): when it was last built, the
-- newest ingest load it had seen, and the parameters it was built with (their JSON), from which the
-- next build knows what changed since.
create table if not exists period_build_state (
    table_name  varchar primary key,
    built_at    timestamp not null,
    loads_seen  bigint,
    params_json varchar not null
);
