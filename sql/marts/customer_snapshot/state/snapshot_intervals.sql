-- grain: one row per (customer_id, valid_from) (a step of customer_snapshot, a temp table): the
-- rows of snapshot_rows folded into runs of consecutive days over which every stored column is
-- unchanged. A row of snapshot_rows stands for the days of its piece (snapshot_pieces: from_day =
-- its as_of .. until_day; a range's runs of equal codes, range/snapshot_pieces.sql, or one day
-- each); a run joins the consecutive pieces of a customer with equal rows. The columns that move
-- with the day itself (recency_days, tenure_days, drop_history_days) are left out: customer_snapshot
-- derives them. A run that reaches $end_date reaches on to $reach_date, the day before the next
-- stored day (9999-12-31, open, when there is none): the days between are not stored, so the row
-- may cover them and a later run for one of them finds it unchanged instead of writing it again.
-- Rows are compared by a 64-bit hash of their stored columns, so the sort that finds the runs
-- carries narrow columns instead of every column (a false match of two different rows has a
-- probability of about 5e-20 per comparison); each run then takes the columns of its first row.
with hashed as (
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

day_rows as (
    select
        h.customer_id,
        h.as_of,
        p.until_day,
        h.attrs_hash
    from hashed as h
    inner join snapshot_pieces as p on h.customer_id = p.customer_id and h.as_of = p.from_day
),

-- a piece begins a run unless the customer's piece before it ends the day before and has the same
-- row; the runs are numbered by a running count of their beginnings
marked as (
    select
        customer_id,
        as_of,
        until_day,
        coalesce(
            attrs_hash <> lag(attrs_hash) over w or as_of <> lag(until_day) over w + 1, true
        ) as begins
    from day_rows
    window w as (partition by customer_id order by as_of)
),

runs as (
    select
        customer_id,
        as_of,
        until_day,
        sum(begins::integer) over (
            partition by customer_id order by as_of rows unbounded preceding
        ) as run
    from marked
),

bounds as (
    select
        customer_id,
        min(as_of) as valid_from,
        case
            when max(until_day) = $end_date::date then $reach_date::date
            else max(until_day)
        end as valid_until
    from runs
    group by customer_id, run
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
