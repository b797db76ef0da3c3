-- grain: one row per (as_of, customer_id); the declared column types and order of action_list
-- (created once; action_list.sql in this folder computes the rows).
create table if not exists action_list (
    as_of           date not null,
    customer_id     varchar not null,
    tier            varchar not null,
    segment         varchar not null,     -- RFM segment
    lifecycle_stage varchar not null,
    status          varchar,              -- customer_value.status; NULL without a customer_value row
    status_source   varchar,              -- model | rules
    churn_reasons   varchar,              -- the churn flags set, e.g. inactive,complaints
    rule_index      integer not null,     -- the playbook rule that routed the customer (0 = first)
    reason          varchar not null,     -- what matched: a status or flag, lifecycle:<stage>, tier:<tier>, default
    action          varchar not null,
    owner           varchar not null,
    value_at_risk   decimal(18, 2),       -- customer_value.value_at_risk, else the customer's monetary
    value_source    varchar not null,     -- model | monetary
    monetary        decimal(18, 2)
);
