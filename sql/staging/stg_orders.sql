-- grain: one row per order (every status), with the counted-order rule of docs/metrics.md applied once.
-- A view, so it always reflects the latest ingest at no storage cost.
with source as (
    select * from orders
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        ordered_at::date as order_date,
        lower(status) as status,
        lower(status) = 'completed' as is_counted,
        amount,
        coalesce(refund_amount, 0) as refund_amount,
        -- value of a counted order: what the customer finally paid; of a return (status
        -- `returned`, a credit note: never a counted order, it lowers the customer's value on its
        -- day): what was given back, always negative whichever sign the export writes it with
        case
            when lower(status) = 'returned' then -abs(amount)
            else amount - coalesce(refund_amount, 0)
        end as value,
        channel,
        -- the load that wrote the row (ingest_log): what was loaded since a build
        _load_id
    from source
)

select * from final
