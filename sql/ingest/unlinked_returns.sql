-- The returns of one load whose original order is not known: no original_order_id, or one that
-- names no order (other than a return) in `orders`. Their count and their first lines.
select
    count(*) as returns,
    list_slice(list(o._line order by o._line), 1, $max_lines) as lines
from orders as o
where
    o._load_id = $load_id
    and lower(o.status) = $return_status
    and (
        o.original_order_id is null
        or not exists (
            select 1
            from orders as k
            where
                k.order_id = o.original_order_id
                and lower(k.status) <> $return_status
        )
    );
