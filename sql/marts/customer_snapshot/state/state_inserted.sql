-- grain: one row per run of state_merged that is not stored as it is (a step of customer_snapshot,
-- a temp table): the rows to insert, narrow; state_changes reads their columns.
with stored as (
    -- the stored rows of the customers that are not settled
    select s.*
    from state_stored as s
    anti join state_settled as x on s.customer_id = x.customer_id
),

inserted as (
    select m.*
    from state_merged as m
    anti join stored as s
        on
            m.customer_id = s.customer_id
            and m.valid_from = s.valid_from
            and m.valid_until = s.valid_until
            and m.attrs_hash = s.attrs_hash
)

select * from inserted
