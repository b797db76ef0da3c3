-- grain: one row per (segment_id, from_day), with the segment's customer_id (a step of
-- customer_snapshot for a range of days, a temp table): the runs of days of a segment over which
-- every stored column of snapshot_rows stays the same. Inside a segment the counts are constant
-- (snapshot_segments); what moves from day to day is the scores (the day's edges,
-- snapshot_thresholds), lifecycle_stage (tenure), is_active, inactive and activity_drop, packed
-- here into one narrow code per customer-day, as snapshot_rows computes them. snapshot_rows then
-- scores the first day of each run only (range/snapshot_piece_days.sql), not every customer-day,
-- and state/snapshot_intervals.sql joins runs of equal rows across segments.
with codes as (
    select
        x.segment_id,
        x.as_of,
        (
            1 + coalesce((x.recency_days <= th.r2)::integer, 0)
            + coalesce((x.recency_days <= th.r3)::integer, 0)
            + coalesce((x.recency_days <= th.r4)::integer, 0)
            + coalesce((x.recency_days <= th.r5)::integer, 0)
        )
        + 8 * (
            1 + coalesce((x.frequency >= th.f2)::integer, 0)
            + coalesce((x.frequency >= th.f3)::integer, 0)
            + coalesce((x.frequency >= th.f4)::integer, 0)
            + coalesce((x.frequency >= th.f5)::integer, 0)
        )
        + 64 * (
            1 + coalesce((x.monetary_cents >= th.m2)::integer, 0)
            + coalesce((x.monetary_cents >= th.m3)::integer, 0)
            + coalesce((x.monetary_cents >= th.m4)::integer, 0)
            + coalesce((x.monetary_cents >= th.m5)::integer, 0)
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

runs as (
    -- gaps and islands: the consecutive days of a segment with the same code share as_of minus
    -- their position among that segment's days with that code
    select
        segment_id,
        as_of,
        code,
        as_of - (row_number() over (partition by segment_id, code order by as_of))::integer as run
    from codes
),

pieces as (
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
