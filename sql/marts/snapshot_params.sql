-- grain: one row per snapshot day as_of: the thresholds, weights and maps customer_snapshot used
-- for that day (JSON), so every report can print them. Written in the same transaction as the
-- snapshot days it describes.
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

delete from snapshot_params where as_of between $start_date and $end_date;

insert into snapshot_params by name
with days as (
    select range::date as as_of
    from range($start_date::date, $end_date::date + 1, interval 1 day)
),

final as (
    select
        as_of,
        $params_json as params_json,
        $computed_at::timestamp as computed_at,
        $run_id as run_id,
        $loads_seen::bigint as loads_seen
    from days
)

select * from final;
