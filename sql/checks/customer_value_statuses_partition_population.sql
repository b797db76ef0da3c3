-- grain: one row: the verdict of the check on customer_value's latest day ($as_of). Each
-- "violations: ..." column counts the breaches of one rule (the check passes when all are 0): one
-- row per customer of that day's customer_snapshot population and none besides, one known status
-- and source each, model columns set exactly when the model is used (model_quality), P(alive)
-- within [0, 1], value at risk and CLV not negative.
with day_rows as (
    select * from customer_value where as_of = $as_of::date
),

population as (
    select customer_id from customer_snapshot where as_of = $as_of::date
),

quality as (
    select coalesce(bool_or(model_used), false) as model_used
    from model_quality where as_of = $as_of::date
),

verdict as (
    select
        (select count(*) from day_rows) as customers,
        (select count(*) - count(distinct customer_id) from day_rows)
        as "violations: duplicate (as_of, customer_id)",
        (select count(*) from population as p anti join day_rows as v on p.customer_id = v.customer_id)
        as "violations: population customers without a row",
        (select count(*) from day_rows as v anti join population as p on v.customer_id = p.customer_id)
        as "violations: rows outside the population",
        (select count(*) from day_rows where status is null or not list_contains($statuses, status))
        as "violations: unknown status",
        (
            select count(*) from day_rows cross join quality as q
            where status_source <> case when q.model_used then 'model' else 'rules' end
        ) as "violations: status_source disagrees with model_quality",
        (
            select count(*) from day_rows
            where (status_source = 'model') <> (p_alive is not null and value_at_risk is not null)
        ) as "violations: model columns set without the model or missing with it",
        (select count(*) from day_rows where p_alive not between 0 and 1)
        as "violations: p_alive outside [0,1]",
        (select count(*) from day_rows where value_at_risk < 0 or clv < 0 or expected_orders < 0)
        as "violations: negative value or orders"
)

select * from verdict
