-- grain: one row per (period_type, period_start, customer_id) of the customers with an NPS answer in the period.
-- Say-do gap (docs/metrics.md, "say_do"): the customer's latest NPS answer of the period (its
-- class: promoter 9-10, passive 7-8, detractor 0-6) against what they did in the $say_do_days
-- days after the answer's day: ordered again (behaviour 'buying') or not ('lapsed'), counted orders
-- and their value after, the same in the $say_do_days days up to the answer's day (before), and
-- the status at the window's end: customer_value's (model or rules) on its last stored day on or
-- before the window's end when that day is after the answer, else the churn flags of the
-- snapshot of the window's end (churn_risk -> at_risk, else active). A window that has not fully
-- elapsed by the last stored snapshot day leaves the outcome empty (window_elapsed = false).
with periods as (
    -- every reported period, or in an incremental build those ending on or after $since (their
    -- answers or days changed: every row recomputed) and those holding a day from $answers_from
    -- to $answers_to (only the rows whose answer is on such a day: loyalty.marts.insight)
    select
        *,
        end_as_of >= $since as in_full
    from report_periods
    where
        end_as_of >= $since
        or (period_start <= $answers_to and end_as_of >= $answers_from)
),

last_stored as (
    -- snapshot_params: one row per stored snapshot day
    select max(as_of) as last_day from snapshot_params
),

answered as (
    select
        p.period_type,
        p.period_start,
        p.period_end,
        p.is_complete,
        p.in_full,
        r.customer_id,
        r.response_id,
        r.responded_at,
        r.response_date,
        r.nps,
        r.nps_group as nps_class
    from periods as p
    inner join stg_surveys as r
        on r.response_date between p.period_start and p.end_as_of and r.nps is not null
    qualify row_number() over (
        partition by p.period_type, p.period_start, r.customer_id
        order by r.responded_at desc, r.response_id desc
    ) = 1
),

-- the rows recomputed: every customer's of a period recomputed in full, else those whose latest
-- answer is on a day from $answers_from to $answers_to
latest as (
    select * from answered
    where in_full or response_date between $answers_from and $answers_to
),

-- the snapshot rows the answers need, read once: each respondent on the answer's day and at the
-- window's end
-- (customer_snapshot read from the state it is stored in: a join with the view would expand every
-- stored day)
snapshot_rows as (
    select d.as_of, s.customer_id, s.tier, s.churn_risk
    from (
        select customer_id, response_date as as_of from latest
        union
        select customer_id, response_date + $say_do_days::integer as as_of from latest
    ) as d
    semi join snapshot_params as p on d.as_of = p.as_of
    inner join (
        -- no day read is before the first period's start ($states_from is the day before it): a
        -- bound value, so the scan keeps only the rows holding on or after it
        select customer_id, valid_from, valid_to, tier, churn_risk
        from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on
            d.customer_id = s.customer_id
            and d.as_of >= s.valid_from
            and d.as_of <= coalesce(s.valid_to, date '9999-12-31')
),

answers as (
    select
        a.*,
        a.response_date + $say_do_days::integer as window_end,
        a.response_date + $say_do_days::integer <= l.last_day as window_elapsed,
        s.tier
    from latest as a
    cross join last_stored as l
    left join snapshot_rows as s
        on s.as_of = a.response_date and s.customer_id = a.customer_id
),

-- the orders around each elapsed answer's day, once per (customer, day): an answer is the latest
-- of its week, month and quarter (inner: the join builds on the answers' days, not on the orders)
answer_days as (
    select distinct customer_id, response_date, window_end
    from answers
    where window_elapsed
),

day_sums as (
    select
        d.customer_id,
        d.response_date,
        count(*) filter (where o.order_date > d.response_date) as orders_after,
        coalesce(sum(o.value) filter (where o.order_date > d.response_date), 0) as value_after,
        count(*) filter (where o.order_date <= d.response_date) as orders_before,
        coalesce(sum(o.value) filter (where o.order_date <= d.response_date), 0) as value_before
    from answer_days as d
    inner join (
        -- the orders of the windows: dated after the first day read minus $say_do_days (from
        -- $orders_window_from on); a bound value, so the ordered_at zone maps skip older history
        select customer_id, order_date, value from stg_orders
        where is_counted and ordered_at >= $orders_window_from::date::timestamp
    ) as o
        on o.customer_id = d.customer_id
        and o.order_date > d.response_date - $say_do_days::integer
        and o.order_date <= d.window_end
    group by all
),

order_sums as (
    select
        a.period_type,
        a.period_start,
        a.customer_id,
        coalesce(s.orders_after, 0) as orders_after,
        coalesce(s.value_after, 0) as value_after,
        coalesce(s.orders_before, 0) as orders_before,
        coalesce(s.value_before, 0) as value_before
    from answers as a
    left join day_sums as s
        on a.customer_id = s.customer_id and a.response_date = s.response_date
    where a.window_elapsed
),

value_days as (
    -- value_statuses: customer_value's statuses, or no rows without customer_value (model/ or
    -- flags/value_statuses.sql, chosen by loyalty.marts.insight)
    select distinct as_of from value_statuses
),

-- the last customer_value day on or before each window's end
status_day as (
    select a.period_type, a.period_start, a.customer_id, v.as_of as value_day
    from answers as a
    asof inner join value_days as v on a.window_end >= v.as_of
    where a.window_elapsed and v.as_of > a.response_date
),

statuses as (
    select
        a.period_type,
        a.period_start,
        a.customer_id,
        coalesce(
            cv.status,
            case when s.churn_risk then 'at_risk' when s.churn_risk is not null then 'active' end
        ) as status_at_end,
        case
            when cv.status is not null then cv.status_source
            when s.churn_risk is not null then 'flags'
        end as status_source
    from answers as a
    left join status_day as d
        on a.period_type = d.period_type
        and a.period_start = d.period_start
        and a.customer_id = d.customer_id
    left join value_statuses as cv
        on cv.as_of = d.value_day and cv.customer_id = a.customer_id
    left join snapshot_rows as s
        on s.as_of = a.window_end and s.customer_id = a.customer_id
    where a.window_elapsed
),

final as (
    select
        a.period_type,
        a.period_start,
        a.customer_id,
        a.tier,
        a.response_id,
        a.responded_at,
        a.nps,
        a.nps_class,
        $say_do_days::integer as window_days,
        a.window_end,
        a.window_elapsed,
        case
            when not a.window_elapsed then null
            when o.orders_after > 0 then 'buying'
            else 'lapsed'
        end as behaviour,
        o.orders_after,
        o.value_after,
        o.orders_before,
        o.value_before,
        st.status_at_end,
        st.status_source,
        a.period_end,
        a.is_complete
    from answers as a
    left join order_sums as o
        on a.period_type = o.period_type
        and a.period_start = o.period_start
        and a.customer_id = o.customer_id
    left join statuses as st
        on a.period_type = st.period_type
        and a.period_start = st.period_start
        and a.customer_id = st.customer_id
)

select * from final
order by period_type, period_start, customer_id
