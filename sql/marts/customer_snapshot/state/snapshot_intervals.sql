-- grain: one row per (customer_id, valid_from) (a step of customer_snapshot, a temp table): the
-- rows of snapshot_rows (one per day of $start_date..$end_date and customer) folded into runs of
-- consecutive days over which every stored column is unchanged. The columns that move with the day
-- itself (recency_days, tenure_days, drop_history_days) are left out: customer_snapshot derives
-- them. A run that reaches $end_date reaches on to $reach_date, the day before the next stored day
-- (9999-12-31, open, when there is none): the days between are not stored, so the row may cover them
-- and a later run for one of them finds it unchanged instead of writing it again.
-- Days of a customer are compared by a 64-bit hash of their stored columns, so the sort that finds
-- the runs carries narrow columns instead of every column (a false match of two different rows has
-- a probability of about 5e-20 per comparison); each run then takes the columns of its first day.
with day_rows as (
    select
        customer_id,
        as_of,
        hash(
            struct_pack(
                *columns(* exclude (as_of, customer_id, recency_days, tenure_days, drop_history_days))
            )
        ) as attrs_hash
    from snapshot_rows
),

runs as (
    -- gaps and islands: the consecutive days of a customer with the same columns share as_of minus
    -- their position among that customer's days with those columns; one numbering instead of
    -- comparing each day with the one before and then numbering the runs (two sorts)
    select
        customer_id,
        as_of,
        attrs_hash,
        as_of - (row_number() over (
            partition by customer_id, attrs_hash order by as_of
        ))::integer as run
    from day_rows
),

bounds as (
    select
        customer_id,
        min(as_of) as valid_from,
        case
            when max(as_of) = $end_date::date then $reach_date::date
            else max(as_of)
        end as valid_until
    from runs
    group by customer_id, attrs_hash, run
),

-- the first day's row of each run; a run at risk (churn_risk) gets flagged_since: the day after the
-- customer's last run in the range without churn_risk, else (at risk since before the range or
-- since the first order) the value snapshot_rows carries. The runs of a customer are consecutive.
firsts as (
    select
        b.valid_from,
        b.valid_until,
        r.* replace (
            case
                when r.churn_risk then coalesce(
                    max(case when not r.churn_risk then b.valid_until end) over (
                        partition by b.customer_id order by b.valid_from
                        rows between unbounded preceding and 1 preceding
                    ) + 1,
                    r.flagged_since
                )
            end as flagged_since
        )
    from bounds as b
    inner join snapshot_rows as r on b.customer_id = r.customer_id and b.valid_from = r.as_of
),

-- (the star is qualified: Spark's translation expands a bare one over every CTE above)
final as (
    select
        f.customer_id,
        f.valid_from,
        f.valid_until,
        struct_pack(
            *columns(
                f.* exclude (
                    -- noqa: disable=RF03
                    valid_from, valid_until, as_of, customer_id, recency_days, tenure_days,
                    drop_history_days
                    -- noqa: enable=RF03
                )
            )
        ) as attrs
    from firsts as f
)

select * from final
