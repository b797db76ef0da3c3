-- grain: one row per (segment_id, from_day), with the segment's customer_id (a step of
-- customer_snapshot for a range of days, a temp table): the runs of days of a segment over which
-- every stored column of snapshot_rows stays the same. Inside a segment the counts are constant
-- (snapshot_segments); what moves from day to day is the scores (the day's edges,
-- snapshot_thresholds), lifecycle_stage (tenure), is_active, inactive and activity_drop, packed
-- here into one narrow code per customer-day. A score is the highest edge reached (the edges are
-- monotone: r2 >= r3 >= r4 >= r5, f2 <= ... <= f5, m2 <= ... <= m5, and NULL from the first score
-- no value reaches), which equals snapshot_rows' 1 plus the edges reached: one `case` stops at the
-- first edge it reaches instead of comparing all four. snapshot_rows then scores the first day of
-- each run only (range/snapshot_piece_days.sql), not every customer-day, and
-- state/snapshot_intervals.sql joins runs of equal rows across segments.
with codes as (
    select
        x.segment_id,
        x.as_of,
        (
            case
                when x.recency_days <= th.r5 then 5
                when x.recency_days <= th.r4 then 4
                when x.recency_days <= th.r3 then 3
                when x.recency_days <= th.r2 then 2
                else 1
            end
        )
        + 8 * (
            case
                when x.frequency >= th.f5 then 5
                when x.frequency >= th.f4 then 4
                when x.frequency >= th.f3 then 3
                when x.frequency >= th.f2 then 2
                else 1
            end
        )
        + 64 * (
            case
                when x.monetary_cents >= th.m5 then 5
                when x.monetary_cents >= th.m4 then 4
                when x.monetary_cents >= th.m3 then 3
                when x.monetary_cents >= th.m2 then 2
                else 1
            end
        )
        + 512 * (
            case
                when x.tenure_days <= $new_max_days then 0
                when x.tenure_days <= $growing_max_days then 1
                else 2
            end
        )
        + 2048 * x.is_active::integer
        + 4096 * x.inactive::integer
        + 8192 * x.activity_drop::integer as code
    from snapshot_days as x
    inner join snapshot_thresholds as th on x.as_of = th.as_of
),

spans as (
    -- a segment's days with one code: mostly one run of consecutive days (their count is their
    -- span); the others are cut into runs below
    select segment_id, code, min(as_of) as from_day, max(as_of) as until_day, count(*) as days
    from codes
    group by segment_id, code
),

split as (
    select c.segment_id, c.as_of, c.code
    from codes as c
    semi join spans as s
        on c.segment_id = s.segment_id and c.code = s.code and s.days < s.until_day - s.from_day + 1
),

runs as (
    select
        segment_id,
        as_of,
        code,
        as_of - (row_number() over (partition by segment_id, code order by as_of))::integer as run
    from split
),

pieces as (
    select segment_id, from_day, until_day
    from spans
    where days = until_day - from_day + 1
    union all
    select
        segment_id,
        min(as_of) as from_day,
        max(as_of) as until_day
    from runs
    group by segment_id, code, run
)

select
    sg.customer_id,
    p.segment_id,
    p.from_day,
    p.until_day
from pieces as p
inner join snapshot_segments as sg on p.segment_id = sg.rowid
