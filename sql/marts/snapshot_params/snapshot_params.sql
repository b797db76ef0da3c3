-- grain: one row per snapshot day as_of in $start_date..$end_date: the thresholds, weights and maps
-- customer_snapshot used for that day (JSON), so every report can print them. Written in the same
-- transaction as the snapshot days it describes.
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

select * from final
