-- Macros shared by the models, created by the engine on every connection (temporary: they belong
-- to the connection, nothing is stored in the database file). One definition per formula.

-- RFM score from a percent rank (docs/metrics.md): min(5, 1 + floor(5 * percent_rank)), where
-- percent_rank = (rank - 1) / (population - 1) and rank - 1 = the customers ranked below
create or replace temp macro rfm_rank_score(customers_below, population) as
least(5, 1 + floor(5 * case
    when population > 1 then (customers_below::double) / (population - 1)::double else 0
end))::integer;

-- customers ranked below a value, over one row per (day, value) with its number of customers
-- (ties share a rank: counting per value instead of sorting every customer). Summed as doubles:
-- exact for counts below 2^53, the double rfm_rank_score divides anyway, and a running sum of
-- 128-bit integers took twice as long (0.7 s per 1.9 M values)
create or replace temp macro customers_below(customers, day, value) as
coalesce(sum(customers::double) over (
    partition by day order by value rows between unbounded preceding and 1 preceding
), 0);

-- RFM score from explicit bin edges: how many of the four ascending edges a value reaches
create or replace temp macro edges_reached(value, edges) as
(value >= edges[1])::integer
+ (value >= edges[2])::integer
+ (value >= edges[3])::integer
+ (value >= edges[4])::integer;

-- length in days of a customer's activity_drop history window on day as_of:
-- (max(as_of - lookback_days, day before the first order), as_of - window_days]
create or replace temp macro drop_history_length(as_of, first_order_date, window_days, lookback_days) as
((as_of - window_days) - greatest(as_of - lookback_days, first_order_date - 1))::integer;

-- the activity_drop churn flag (docs/metrics.md): history_days and history_orders of the history
-- window reach their minimums, and the recent orders fall below ratio times the history's orders
-- per window; cross-multiplied, no division
create or replace temp macro activity_drop_flag(
    orders_recent, history_days, history_orders, min_days, min_orders, ratio, window_days
) as
history_days >= min_days
and history_orders >= min_orders
and orders_recent * history_days < ratio * history_orders * window_days;

-- the lifecycle stage of a customer tenure_days after the first order
create or replace temp macro lifecycle_of(tenure_days, new_max_days, growing_max_days) as
case
    when tenure_days <= new_max_days then 'new'
    when tenure_days <= growing_max_days then 'growing'
    else 'mature'
end;

-- an email as the reports show it: the first letter and the domain (a***@example.com); the raw
-- address never leaves the database
create or replace temp macro masked_email(email) as
case
    when email is null then null
    when position('@' in email) > 1 then left(email, 1) || '***@' || split_part(email, '@', 2)
    else '***'
end;

-- Uncertainty (docs/metrics.md "Uncertainty"). The Wilson score interval of a share k / n at the
-- normal quantile z (1.96 for 95 %): (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n); NULL
-- when n = 0. The one definition of the interval; loyalty.reports.stats is its Python twin.
create or replace temp macro wilson_low(k, n, z) as
case when n > 0 then greatest((
    k::double / n + z * z / (2.0 * n)
    - z * sqrt(greatest(k::double / n * (1 - k::double / n) / n + z * z / (4.0 * n * n), 0))
) / (1 + z * z / n), 0) end;

create or replace temp macro wilson_high(k, n, z) as
case when n > 0 then least((
    k::double / n + z * z / (2.0 * n)
    + z * sqrt(greatest(k::double / n * (1 - k::double / n) / n + z * z / (4.0 * n * n), 0))
) / (1 + z * z / n), 1) end;

-- standard error of an NPS (in points) from its promoter and detractor shares and n
create or replace temp macro nps_std_error(promoter_share, detractor_share, n) as
case when n > 0 then 100 * sqrt(greatest(
    promoter_share + detractor_share - (promoter_share - detractor_share) ^ 2, 0
) / n) end;

-- z statistic of the difference of two shares p1 (of n1) and p2 (of n2): the pooled two-proportion
-- z-test; NULL when a side is empty or the pooled share is 0 or 1 (no variation to test)
create or replace temp macro two_proportion_z(p1, n1, p2, n2) as
case
    when n1 > 0 and n2 > 0
        and (p1 * n1 + p2 * n2) / (n1 + n2) > 0
        and (p1 * n1 + p2 * n2) / (n1 + n2) < 1
        then (p1 - p2) / sqrt(
            (p1 * n1 + p2 * n2) / (n1 + n2) * (1 - (p1 * n1 + p2 * n2) / (n1 + n2))
            * (1.0 / n1 + 1.0 / n2)
        )
end;

-- z statistic of a difference whose two sides have standard errors se1 and se2 (NPS)
create or replace temp macro difference_z(difference, se1, se2) as
case when se1 ^ 2 + se2 ^ 2 > 0 then difference / sqrt(se1 ^ 2 + se2 ^ 2) end;
