-- Customers moving from their tier on $previous_day to their tier on $as_of ('new': not in the
-- snapshot before, 'left': not in it after), for the moves from or to one of the tiers $tiers.
with prev as (
    select customer_id, tier from customer_snapshot where as_of = $previous_day
),

cur as (
    select customer_id, tier from customer_snapshot where as_of = $as_of
),

moves as (
    select
        coalesce(prev.tier, 'new') as prev_tier,
        coalesce(cur.tier, 'left') as cur_tier
    from prev
    full outer join cur on prev.customer_id = cur.customer_id
)

select
    prev_tier,
    cur_tier,
    count(*) as customers
from moves
where list_contains($tiers, prev_tier) or list_contains($tiers, cur_tier)
group by all
order by all
