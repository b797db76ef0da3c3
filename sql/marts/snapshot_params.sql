-- grain: one row per snapshot day as_of: the thresholds, weights and maps customer_snapshot used
-- for that day (JSON), so every report can print them. Written in the same transaction as the
-- snapshot days it describes.
create table if not exists snapshot_params (
    as_of        date not null,
    params_json  varchar not null,
    computed_at  timestamp not null,
    run_id       varchar
);

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
        $run_id as run_id
    from days
)

select * from final;
