-- grain: one row per as_of for day $end_date: the backtest's quality and whether the model drives
-- the statuses, from the one-row work table model_quality_row of loyalty.marts.value.
with final as (
    select
        $end_date::date as as_of,
        $horizon_days::integer as horizon_days,
        $calibration_end::date as calibration_end,
        customers::integer as customers,
        repeat_customers::integer as repeat_customers,
        mae_orders,
        bias_orders,
        auc_model,
        auc_baseline,
        auc_p_alive,
        model_beats_baseline,
        model_used,
        reason
    from model_quality_row
)

select * from final
