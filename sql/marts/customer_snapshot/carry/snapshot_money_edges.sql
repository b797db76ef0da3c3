-- grain: one row per as_of of snapshot_scores (a step of customer_snapshot for a carried night, a
-- temp table, as snapshot_money_edges.sql builds it for the other paths): the edges of the day's
-- money scores, m2..m5, from the scores of every value the night counted (carry/snapshot_values).
select
    as_of,
    min(value) filter (measure = 'm' and score >= 2) as m2,
    min(value) filter (measure = 'm' and score >= 3) as m3,
    min(value) filter (measure = 'm' and score >= 4) as m4,
    min(value) filter (measure = 'm' and score >= 5) as m5
from snapshot_scores
group by as_of
