-- Macros shared by the models, created by the engine on every connection (temporary: they belong
-- to the connection, nothing is stored in the database file). One definition per formula.

-- RFM score from a percent rank (docs/metrics.md): min(5, 1 + floor(5 * percent_rank)), where
-- percent_rank = (rank - 1) / (population - 1) and rank - 1 = the customers ranked below
create or replace temp macro rfm_rank_score(customers_below, population) as
least(5, 1 + floor(5 * case
    when population > 1 then (customers_below::double) / (population - 1)::double else 0
end))::integer;

-- customers ranked below a value, over one row per (day, value) with its number of customers
-- (ties share a rank: counting per value instead of sorting every customer)
create or replace temp macro customers_below(customers, day, value) as
coalesce(sum(customers) over (
    partition by day order by value rows between unbounded preceding and 1 preceding
), 0);

-- RFM score from explicit bin edges: how many of the four ascending edges a value reaches
create or replace temp macro edges_reached(value, edges) as
(value >= edges[1])::integer
+ (value >= edges[2])::integer
+ (value >= edges[3])::integer
+ (value >= edges[4])::integer;

-- an email as the reports show it: the first letter and the domain (a***@example.com); the raw
-- address never leaves the database
create or replace temp macro masked_email(email) as
case
    when email is null then null
    when position('@' in email) > 1 then left(email, 1) || '***@' || split_part(email, '@', 2)
    else '***'
end;
