-- The week $period_start..$period_end for every report segment: $all_key (everyone) and each tier
-- of $tiers (the respondents of that tier in the start snapshot $start_as_of, as nps_period counts
-- them): how many answers gave each score. NPS 0-10 counts each respondent's latest answer of the
-- week; CSAT 1-5 counts every answer. Every score of each scale is listed (0 answers included)
-- for a segment with an answer on that scale in the week.
with answers as (
    select
        r.customer_id,
        r.response_id,
        r.responded_at,
        r.nps,
        r.csat,
        s.tier
    from stg_surveys as r
    left join (
        -- customer_snapshot on $start_as_of, read from customer_state by constant bounds (the
        -- view's join reads every stored row first: it grows with the history)
        select
            $start_as_of::date as as_of,
            *,
            ($start_as_of::date - last_order_at::date)::integer as recency_days
        from customer_state
        where
            valid_from <= $start_as_of::date
            and coalesce(valid_to, date '9999-12-31') >= $start_as_of::date
            and exists (select 1 from snapshot_params where as_of = $start_as_of::date)
    ) as s on r.customer_id = s.customer_id
    where r.response_date between $period_start and $period_end
),

-- every answer once for everyone and once for its respondent's tier
segmented as (
    select $all_key as report_segment, customer_id, response_id, responded_at, nps, csat
    from answers
    union all
    select tier as report_segment, customer_id, response_id, responded_at, nps, csat
    from answers
    where list_contains($tiers, tier)
),

latest_nps as (
    select report_segment, nps
    from segmented
    where nps is not null
    qualify row_number() over (
        partition by report_segment, customer_id order by responded_at desc, response_id desc
    ) = 1
),

counted as (
    select report_segment, 'nps' as scale, nps as score, count(*) as answers
    from latest_nps
    group by all
    union all
    select report_segment, 'csat' as scale, csat as score, count(*) as answers
    from segmented
    where csat is not null
    group by all
),

scales as (
    select 'nps' as scale, unnest(range(0, 11)) as score
    union all
    select 'csat' as scale, unnest(range(1, 6)) as score
),

final as (
    select
        a.report_segment,
        s.scale,
        s.score,
        coalesce(c.answers, 0) as answers
    from (select distinct c2.report_segment, c2.scale from counted as c2) as a
    inner join scales as s on a.scale = s.scale
    left join counted as c
        on a.report_segment = c.report_segment and s.scale = c.scale and s.score = c.score
)

select * from final
order by report_segment asc, scale desc, score asc
