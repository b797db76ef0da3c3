-- Filled share of the optional columns of each contract table: $<kind>_columns name the optional
-- columns the report shows (no PII but email), as the contracts list them. One row per (source,
-- column), in the order of $kinds and of each table's columns.
with orders_counts as (
    select
        count(*) as rows,
        count(columns(lambda c: list_contains($orders_columns, c)))
    from orders
),

tickets_counts as (
    select
        count(*) as rows,
        count(columns(lambda c: list_contains($tickets_columns, c)))
    from tickets
),

surveys_counts as (
    select
        count(*) as rows,
        count(columns(lambda c: list_contains($surveys_columns, c)))
    from surveys
),

customers_counts as (
    select
        count(*) as rows,
        count(columns(lambda c: list_contains($customers_columns, c)))
    from customers
),

filled as (
    select 'orders' as source, column_name, rows, filled
    from (unpivot orders_counts on columns(* exclude (rows)) into name column_name value filled)
    union all
    select 'tickets' as source, column_name, rows, filled
    from (unpivot tickets_counts on columns(* exclude (rows)) into name column_name value filled)
    union all
    select 'surveys' as source, column_name, rows, filled
    from (unpivot surveys_counts on columns(* exclude (rows)) into name column_name value filled)
    union all
    select 'customers' as source, column_name, rows, filled
    from (unpivot customers_counts on columns(* exclude (rows)) into name column_name value filled)
)

select
    source,
    column_name,
    rows,
    filled / nullif(rows, 0) as filled_share
from filled
order by
    list_position($kinds, source),
    list_position(
        case source
            when 'orders' then $orders_columns
            when 'tickets' then $tickets_columns
            when 'surveys' then $surveys_columns
            else $customers_columns
        end,
        column_name
    )
