-- The model's quality row (model_quality) of the latest day on or before $as_of: backtest errors,
-- AUC of the model and of the rule, and whether the model's scores are used (reason when not).
select
    as_of,
    horizon_days,
    calibration_end,
    customers,
    repeat_customers,
    mae_orders,
    bias_orders,
    auc_model,
    auc_baseline,
    model_beats_baseline,
    model_used,
    reason
from model_quality
where as_of = (select max(q.as_of) from model_quality as q where q.as_of <= $as_of)
