-- grain: one row per as_of of snapshot_scores (a step of customer_snapshot, a temp table): the
-- edges of the day's scores. A score is monotone in its value (recency: the more recent, the
-- higher; frequency and money: the more, the higher), so every value's score is 1 plus the edges it
-- reaches: r<k> is the largest recency scoring k or more, f<k> and m<k> the smallest frequency and
-- cents scoring k or more (NULL when no value scores k). snapshot_rows scores each customer-day
-- from its day's row, a join on the day alone, instead of three joins on (day, value) whose
-- build sides hold every value of every day (a carried night's snapshot_affected compares every
-- customer's stored scores with these edges alike). The money edges come from snapshot_money_edges
-- (its values are not ranked one by one).
with ranked as (
    select
        as_of,
        max(value) filter (measure = 'r' and score >= 2) as r2,
        max(value) filter (measure = 'r' and score >= 3) as r3,
        max(value) filter (measure = 'r' and score >= 4) as r4,
        max(value) filter (measure = 'r' and score >= 5) as r5,
        min(value) filter (measure = 'f' and score >= 2) as f2,
        min(value) filter (measure = 'f' and score >= 3) as f3,
        min(value) filter (measure = 'f' and score >= 4) as f4,
        min(value) filter (measure = 'f' and score >= 5) as f5
    from snapshot_scores
    group by as_of
)

select
    r.*,
    m.m2,
    m.m3,
    m.m4,
    m.m5
from ranked as r
left join snapshot_money_edges as m on r.as_of = m.as_of
