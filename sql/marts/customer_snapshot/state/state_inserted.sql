-- grain: one row per run of state_merged that is not stored as it is (a step of customer_snapshot,
-- a temp table): the rows to insert, narrow; state_changes reads their columns.
with inserted as (
    select m.*
    from state_merged as m
    anti join state_open as s
        on
            m.customer_id = s.customer_id
            and m.valid_from = s.valid_from
            and m.valid_until = s.valid_until
            and m.attrs_hash = s.attrs_hash
)

select * from inserted
