-- The action list of day $as_of summed per (tier, rule, action, owner): customers and value at
-- risk (the model's, else monetary: action_list.value_source), for the report's actions panel and
-- sheets; the segment's rows are picked in Python (reports/actions.py).
select
    tier,
    rule_index,
    action,
    owner,
    count(*) as customers,
    sum(value_at_risk)::double as value_at_risk,
    count(*) filter (where value_source = 'model') as valued_by_model
from action_list
where as_of = $as_of
group by tier, rule_index, action, owner
order by rule_index, tier
