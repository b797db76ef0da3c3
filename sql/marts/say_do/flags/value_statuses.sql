-- grain: no rows: customer_value is not stored (no model step ran), so the say_do mart reads the
-- churn flags of customer_snapshot at the end of every answer's window.
with final as (
    select
        null::date as as_of,
        null::varchar as customer_id,
        null::varchar as status,
        null::varchar as status_source
    where false
)

select * from final
