-- grain: one row per (as_of, purpose, model, parameter) for day $end_date: the fits of
-- loyalty.marts.value, from its work table model_fit_rows (one row per fitted parameter).
with final as (
    select
        $end_date::date as as_of,
        purpose,
        model,
        parameter,
        value,
        n_customers::integer as n_customers,
        n_repeat::integer as n_repeat,
        log_likelihood,
        converged,
        fit_seconds
    from model_fit_rows
)

select * from final
