-- original_order_id is kept only on a return and only when it names a known order (one other than
-- a return) in `orders`; on the other rows of the load it becomes null, so that a join on it never
-- points nowhere.
update orders as o
set original_order_id = null
where
    o._load_id = $load_id
    and o.original_order_id is not null
    and (
        lower(o.status) <> $return_status
        or not exists (
            select 1
            from orders as k
            where
                k.order_id = o.original_order_id
                and lower(k.status) <> $return_status
        )
    );
