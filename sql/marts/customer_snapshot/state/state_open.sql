-- grain: one row per row of state_stored whose customer is not settled (a step of customer_snapshot,
-- a temp table): the stored rows the fold may cut, join, delete or keep. On a night about 2 % of the
-- customers; the steps after it read this instead of state_stored, so they scale with what changed.
select s.*
from state_stored as s
anti join state_settled as x on s.customer_id = x.customer_id
