-- grain: one row per (as_of, dimension, key); the declared column types and order of
-- revenue_at_risk (created once; revenue_at_risk.sql in this folder computes the rows).
create table if not exists revenue_at_risk (
    as_of             date not null,
    dimension         varchar not null,   -- all | tier | segment
    key               varchar not null,   -- 'all', a tier, an RFM segment name
    customers         integer not null,
    at_risk_customers integer not null,   -- status at_risk
    value_at_risk     decimal(18, 2),     -- sum over the at_risk customers; NULL without a model
    clv               decimal(18, 2)      -- sum over all customers; NULL without a model
);
