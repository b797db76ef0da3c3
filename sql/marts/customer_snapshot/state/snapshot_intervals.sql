-- grain: one row per (customer_id, valid_from) (a step of customer_snapshot, a temp table): the
-- rows of snapshot_rows (one per day of $start_date..$end_date and customer) folded into runs of
-- consecutive days over which every stored column is unchanged. The columns that move with the day
-- itself (recency_days, tenure_days, drop_history_days) are left out: customer_snapshot derives
-- them. A run that reaches $end_date stays open (valid_until 9999-12-31) when no later day is stored.
with day_rows as (
    select
        customer_id,
        as_of,
        struct_pack(
            *columns(* exclude (as_of, customer_id, recency_days, tenure_days, drop_history_days))
        ) as attrs
    from snapshot_rows
),

marked as (
    select
        *,
        coalesce(
            lag(as_of) over w <> as_of - 1 or lag(attrs) over w <> attrs, true
        ) as starts_run
    from day_rows
    window w as (partition by customer_id order by as_of)
),

runs as (
    select
        *,
        sum(starts_run::integer) over (
            partition by customer_id order by as_of rows unbounded preceding
        ) as run
    from marked
),

final as (
    select
        customer_id,
        min(as_of) as valid_from,
        case
            when max(as_of) = $end_date::date and $next_stored::date is null then date '9999-12-31'
            else max(as_of)
        end as valid_until,
        any_value(attrs) as attrs
    from runs
    group by customer_id, run
)

select * from final
