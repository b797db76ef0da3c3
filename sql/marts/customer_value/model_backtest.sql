-- grain: one row per (as_of, decile) for every day D = as_of of value_backtested: the backtest's
-- customers (first purchase day on or before C = D - H) in ten groups of predicted purchase days
-- in (C, D], 1 = highest, with what they predicted and what happened. Reads the work view
-- value_backtested (the backtest's rows of value_summary with the predictions fitted on data
-- through C).
with ranked as (
    select
        b.as_of,
        b.predicted_orders,
        b.predicted_value,
        b.holdout_orders,
        b.holdout_value,
        ntile(10) over (
            partition by b.as_of order by b.predicted_orders desc, b.customer_id asc
        ) as decile
    from value_backtested as b
),

final as (
    select
        as_of,
        decile::integer as decile,
        count(*)::integer as customers,
        sum(predicted_orders) as predicted_orders,
        sum(holdout_orders)::integer as actual_orders,
        sum(predicted_value) as predicted_value,
        sum(holdout_value)::decimal(18, 2) as actual_value
    from ranked
    group by as_of, decile
)

select * from final
