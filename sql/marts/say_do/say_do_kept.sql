-- grain: one row per (period_type, period_start, customer_id) of say_do that an incremental build
-- keeps as stored: the rows of periods report_periods still holds, ending before $since, whose
-- answer is not on a day from $answers_from to $answers_to (loyalty.marts.insight; every other
-- row is replaced by say_do.sql's rows).
with kept as (
    select s.period_type, s.period_start, s.customer_id
    from say_do as s
    inner join report_periods as p
        on s.period_type = p.period_type and s.period_start = p.period_start
    where
        p.end_as_of < $since
        and s.window_end - s.window_days not between $answers_from and $answers_to
)

select * from kept
