-- grain: one row per (as_of, customer_id) of customer_value: the status (model or rules) the
-- say_do mart reads at the end of an answer's window (this path: customer_value is stored).
with final as (
    select as_of, customer_id, status, status_source
    from customer_value
)

select * from final
