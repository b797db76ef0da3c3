-- grain: one row per row of state_fresh whose customer is not settled (a step of customer_snapshot,
-- a temp table): the new runs to write, of customers with stored rows to cut or join (also in
-- state_open) or without any stored row (new customers, a first run).
select f.*
from state_fresh as f
anti join state_settled as x on f.customer_id = x.customer_id
