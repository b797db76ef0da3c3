-- grain: one row: the verdict of the check on customer_value's latest day ($as_of). Each
-- "violations: ..." column counts the breaches of one rule (the check passes when all are 0): one
-- row per customer of that day's customer_snapshot population and none besides, one known status
-- and source each, model columns set exactly when the model is used (model_quality), P(alive)
-- within [0, 1], value at risk and CLV not negative.
-- One pass over the day's rows for the per-row rules, and one join of its customers (counted per
-- customer) with the population for the rest: every rule is checked as before, each table is
-- read once.
with quality as (
    select coalesce(bool_or(model_used), false) as model_used
    from model_quality where as_of = $as_of::date
),

day_rows as (
    select
        count(*) as customers,
        count(*) filter (status is null or not list_contains($statuses, status)) as unknown_status,
        count(*) filter (
            status_source <> case when q.model_used then 'model' else 'rules' end
        ) as source_disagrees,
        count(*) filter (
            (status_source = 'model') <> (p_alive is not null and value_at_risk is not null)
        ) as model_columns,
        count(*) filter (p_alive not between 0 and 1) as p_alive_outside,
        count(*) filter (value_at_risk < 0 or clv < 0 or expected_orders < 0) as negative
    from customer_value
    cross join quality as q
    where as_of = $as_of::date
),

per_customer as (
    select customer_id, count(*) as day_rows
    from customer_value
    where as_of = $as_of::date
    group by customer_id
),

population as (
    -- the day's customer_snapshot population, read from customer_state with the day as a
    -- constant (the view's join reads every stored row: it grows with the history)
    select customer_id
    from customer_state
    where
        valid_from <= $as_of::date
        and coalesce(valid_to, date '9999-12-31') >= $as_of::date
        and exists (select 1 from snapshot_params where as_of = $as_of::date)
),

matched as (
    select
        coalesce(sum(v.day_rows - 1), 0) as duplicates,
        count(*) filter (v.customer_id is null) as without_row,
        count(*) filter (p.customer_id is null) as outside
    from per_customer as v
    full outer join population as p on v.customer_id = p.customer_id
)

select
    d.customers,
    m.duplicates as "violations: duplicate (as_of, customer_id)",
    m.without_row as "violations: population customers without a row",
    m.outside as "violations: rows outside the population",
    d.unknown_status as "violations: unknown status",
    d.source_disagrees as "violations: status_source disagrees with model_quality",
    d.model_columns as "violations: model columns set without the model or missing with it",
    d.p_alive_outside as "violations: p_alive outside [0,1]",
    d.negative as "violations: negative value or orders"
from day_rows as d cross join matched as m
