-- grain: the declared column types and order of the customer-value model's tables (created once;
-- loyalty.marts.value fills them; what each column means: docs/model.md).
-- customer_value: one row per (as_of, customer_id), kept for the latest day and every Sunday
create table if not exists customer_value (
    as_of                date not null,
    customer_id          varchar not null,
    frequency            integer not null,   -- repeat purchase days (purchase days - 1)
    recency_days         integer not null,   -- first to last purchase day
    t_days               integer not null,   -- first purchase day to as_of
    monetary_repeat      decimal(18, 2),     -- mean value of the repeat purchase days; NULL if none
    p_alive              double,             -- model columns: NULL when no trusted model
    expected_orders      double,             -- purchase days expected in (as_of, as_of + H]
    expected_order_value decimal(18, 2),
    clv                  decimal(18, 2),     -- expected_orders * expected_order_value
    value_if_alive       decimal(18, 2),     -- E[purchase days | alive] * expected_order_value
    value_at_risk        decimal(18, 2),     -- (1 - p_alive) * value_if_alive
    status               varchar not null,   -- active | at_risk | lapsed | lost
    status_source        varchar not null,   -- model | rules
    horizon_days         integer not null    -- H
);

-- model_fit: one row per (as_of, purpose, model, parameter)
create table if not exists model_fit (
    as_of          date not null,
    purpose        varchar not null,   -- score (data through as_of) | backtest (through as_of - H)
    model          varchar not null,   -- bg_nbd | gamma_gamma
    parameter      varchar not null,   -- r, alpha, a, b | p, q, v (day units)
    value          double,             -- NULL when the fit did not converge
    n_customers    integer not null,
    n_repeat       integer not null,
    log_likelihood double,
    converged      boolean not null,
    fit_seconds    double not null
);

-- model_backtest: one row per (as_of, decile of predicted orders in (as_of - H, as_of])
create table if not exists model_backtest (
    as_of            date not null,
    decile           integer not null,   -- 1 = highest predicted orders
    customers        integer not null,
    predicted_orders double not null,
    actual_orders    integer not null,
    predicted_value  double not null,
    actual_value     decimal(18, 2) not null
);

-- model_quality: one row per as_of
create table if not exists model_quality (
    as_of                date not null,
    horizon_days         integer not null,
    calibration_end      date not null,     -- as_of - H
    customers            integer not null,  -- the population on as_of
    repeat_customers     integer not null,  -- of which with a repeat purchase day
    mae_orders           double,            -- backtest: mean |predicted - actual| purchase days
    bias_orders          double,            -- backtest: mean (predicted - actual)
    auc_model            double,            -- expected orders at C ranking "orders again in (C, as_of]"
    auc_baseline         double,            -- the rule "inactive > inactive_days" at C, 0/1
    auc_p_alive          double,            -- P(alive) at C ranking the same (1 for one-time buyers)
    model_beats_baseline boolean,
    model_used           boolean not null,  -- scores drive status and the at-risk list
    reason               varchar            -- why not used; NULL when used
);
