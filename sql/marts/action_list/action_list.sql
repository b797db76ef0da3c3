-- grain: one row per (as_of, customer_id) for every day in $days that has a customer_snapshot:
-- each customer routed by the playbook (settings `playbook.rules`, reaching SQL as the expanded
-- rows $pb_*: one row per rule and combination of its listed when / tier / lifecycle values, in
-- rule order) to the action of the FIRST rule that matches. A rule's value $pb_any matches anything;
-- `when` matches the customer_value status, a churn flag, or $pb_any_flag (any churn flag). Value at
-- risk is the model's (customer_value) when it has one, else the customer's monetary.
with rules as (
    select
        unnest($pb_seq) as seq,
        unnest($pb_rule) as rule_index,
        unnest($pb_when) as when_value,
        unnest($pb_tier) as tier,
        unnest($pb_stage) as lifecycle_stage,
        unnest($pb_reason) as reason,
        unnest($pb_action) as action,
        unnest($pb_owner) as owner
),

customers as (
    select
        d.as_of,
        s.customer_id,
        s.tier,
        s.segment,
        s.lifecycle_stage,
        s.churn_risk,
        nullif(s.churn_reasons, '') as churn_reasons,
        s.monetary,
        v.status,
        v.status_source,
        v.value_at_risk
    -- the days' customer_snapshot rows, read from customer_state: only its rows holding within
    -- $start_date..$end_date (constants the scan applies to two date columns) are joined with the
    -- stored days of $days; the view's join would read every column of every stored row first
    -- (at 10 M orders with a year of history 50 M rows: the cost would grow with the history)
    from (select as_of from snapshot_params where list_contains($days, as_of)) as d
    inner join (
        select
            customer_id,
            valid_from,
            valid_to,
            tier,
            segment,
            lifecycle_stage,
            churn_risk,
            churn_reasons,
            monetary
        from customer_state
        where
            valid_from <= $end_date::date
            and coalesce(valid_to, date '9999-12-31') >= $start_date::date
    ) as s
        on d.as_of >= s.valid_from and d.as_of <= coalesce(s.valid_to, date '9999-12-31')
    left join customer_value as v on d.as_of = v.as_of and s.customer_id = v.customer_id
),

-- the rules are matched once per distinct combination of what they test (a few hundred), not per
-- customer (at 10 M orders a join of 2.5 M customers with every rule and a group by: 1 s of CPU)
combos as (
    select distinct tier, lifecycle_stage, status, churn_risk, churn_reasons
    from customers
),

first_match as (
    select
        c.tier,
        c.lifecycle_stage,
        c.status,
        c.churn_risk,
        c.churn_reasons,
        min(r.seq) as seq
    from combos as c
    inner join rules as r
        on
            (r.tier = $pb_any or r.tier = c.tier)
            and (r.lifecycle_stage = $pb_any or r.lifecycle_stage = c.lifecycle_stage)
            and (
                r.when_value = $pb_any
                or r.when_value = c.status
                or (r.when_value = $pb_any_flag and c.churn_risk)
                or coalesce(list_contains(string_split(c.churn_reasons, ','), r.when_value), false)
            )
    group by c.tier, c.lifecycle_stage, c.status, c.churn_risk, c.churn_reasons
),

final as (
    select
        c.as_of,
        c.customer_id,
        c.tier,
        c.segment,
        c.lifecycle_stage,
        c.status,
        c.status_source,
        c.churn_reasons,
        r.rule_index,
        r.reason,
        r.action,
        r.owner,
        coalesce(c.value_at_risk, c.monetary)::decimal(18, 2) as value_at_risk,
        case when c.value_at_risk is not null then 'model' else 'monetary' end as value_source,
        c.monetary::decimal(18, 2) as monetary
    from customers as c
    inner join first_match as m
        on
            c.tier is not distinct from m.tier
            and c.lifecycle_stage is not distinct from m.lifecycle_stage
            and c.status is not distinct from m.status
            and c.churn_risk is not distinct from m.churn_risk
            and c.churn_reasons is not distinct from m.churn_reasons
    inner join rules as r on m.seq = r.seq
)

select * from final
