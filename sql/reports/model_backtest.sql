-- The backtest of day $model_day (model_backtest): per decile of predicted orders (1 = highest),
-- predicted and actual orders and value over (D - H, D].
select
    decile,
    customers,
    predicted_orders,
    actual_orders,
    predicted_value,
    actual_value::double as actual_value
from model_backtest
where as_of = $model_day
order by decile
