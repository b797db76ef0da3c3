-- grain: one row per (period_type, period_start) of report_periods ending before $since: the
-- periods an incremental build of a period mart keeps as stored (every other period of the mart,
-- including any report_periods no longer holds, is replaced).
with unchanged as (
    select period_type, period_start
    from report_periods
    where end_as_of < $since
)

select * from unchanged
