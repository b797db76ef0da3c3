-- grain: one row per (as_of, customer_id) for every day of $start_date..$end_date that the work
-- view value_scored holds, and every customer of that day's customer_snapshot population. Reads
-- the work view of loyalty.marts.value: value_scored (every row of value_summary.sql with the
-- model's scores, NULL where it has none, and whether the model is used on its day: model_used).
-- Status: silent longer than $lost_after_days -> lost (whatever the model says: BG/NBD keeps
-- P(alive) = 1 for a one-time buyer however long ago, and high for a slow buyer); otherwise the
-- P(alive) bands when the model is used, else the rules: the snapshot's churn_risk -> at_risk,
-- else active.
with scored as (
    select
        v.as_of,
        s.customer_id,
        v.frequency,
        v.recency_days,
        v.t_days,
        v.monetary_repeat,
        v.model_used,
        case when v.model_used then v.p_alive end as p_alive,
        case when v.model_used then v.expected_orders end as expected_orders,
        case
            when v.model_used then round(v.expected_order_value, 2)::decimal(18, 2)
        end as expected_order_value,
        case when v.model_used then round(v.clv, 2)::decimal(18, 2) end as clv,
        case
            when v.model_used then round(v.value_if_alive, 2)::decimal(18, 2)
        end as value_if_alive,
        case
            when v.model_used then round(v.value_at_risk, 2)::decimal(18, 2)
        end as value_at_risk,
        date_diff('day', s.last_order_at::date, v.as_of)::integer as days_silent,
        s.churn_risk
    from (
        -- the customer_state rows of the days' customer_snapshot populations, read with the days
        -- as constants: the view's join with snapshot_params reads every column of every stored
        -- row before it keeps a day's, which grows with the history
        select customer_id, valid_from, valid_to, last_order_at, churn_risk
        from customer_state
        where
            valid_from <= $end_date::date
            and coalesce(valid_to, date '9999-12-31') >= $start_date::date
    ) as s
    inner join value_scored as v
        on
            s.customer_id = v.customer_id
            and s.valid_from <= v.as_of
            and coalesce(s.valid_to, date '9999-12-31') >= v.as_of
),

final as (
    select
        * exclude (days_silent, churn_risk, model_used),
        case
            when days_silent > $lost_after_days then 'lost'
            when not model_used and churn_risk then 'at_risk'
            when not model_used then 'active'
            when p_alive >= $band_active then 'active'
            when p_alive >= $band_at_risk then 'at_risk'
            when p_alive >= $band_lapsed then 'lapsed'
            else 'lost'
        end as status,
        case when model_used then 'model' else 'rules' end as status_source,
        $horizon_days::integer as horizon_days
    from scored
)

select * from final
