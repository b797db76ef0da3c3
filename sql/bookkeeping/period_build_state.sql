-- grain: one row per incrementally built period mart (table_name): when it was last built, the
-- newest ingest load it had seen, the parameters it was built with (their JSON) and, for a mart
-- that needs more, what it read (JSON: say_do's last stored day and the customer_value days it read
-- with when each was written), from which the next build knows what changed since.
create table if not exists period_build_state (
    table_name  varchar primary key,
    built_at    timestamp not null,
    loads_seen  bigint,
    params_json varchar not null,
    inputs_json varchar
);

-- tables created before inputs_json existed
alter table period_build_state add column if not exists inputs_json varchar;
