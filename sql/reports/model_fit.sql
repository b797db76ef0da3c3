-- The fitted parameters of day $model_day (model_fit): both fits (score through D, backtest
-- through D - H), each model's parameters in the papers' order, with the fit's figures.
select
    purpose,
    model,
    parameter,
    value,
    n_customers,
    n_repeat,
    log_likelihood,
    converged,
    fit_seconds
from model_fit
where as_of = $model_day
order by
    list_position($purposes, purpose),
    list_position($models, model),
    list_position($parameters, parameter),
    parameter
