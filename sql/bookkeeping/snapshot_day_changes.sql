-- grain: one row: how much changed since the stored snapshot of $day was computed, when the newest
-- ingest load was $seen; 0 means the stored day still holds (a one-day run may carry it forward, the
-- KPI board may read it). An order or ticket key replaced since, an order or ticket dated on or
-- before $day loaded since ($next is the day after), or the day's rows missing all count.
with changes as (
    select
        (
            select count(*) from ingest_log
            where load_id > $seen and source in ('orders', 'tickets') and keys_replaced > 0
        )
        + (select count(*) from orders where _load_id > $seen and ordered_at < $next)
        + (select count(*) from tickets where _load_id > $seen and opened_at < $next)
        + (not exists (select 1 from customer_snapshot where as_of = $day))::integer as changed
)

select * from changes
