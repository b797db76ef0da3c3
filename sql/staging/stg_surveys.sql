-- grain: one row per survey response; scores outside their scale become NULL (not an answer).
-- A view, so it always reflects the latest ingest at no storage cost.
with source as (
    select * from surveys
),

final as (
    select
        response_id,
        customer_id,
        responded_at,
        responded_at::date as response_date,
        case when nps between 0 and 10 then nps end as nps,
        case when csat between 1 and 5 then csat end as csat,
        case when ces between 1 and 7 then ces end as ces,
        case
            when nps between 9 and 10 then 'promoter'
            when nps between 7 and 8 then 'passive'
            when nps between 0 and 6 then 'detractor'
        end as nps_group,
        -- the load that wrote the row (ingest_log): what was loaded since a build
        _load_id
    from source
)

select * from final
