-- The survey comments of the week $period_start..$period_end for every report segment: $all_key
-- (everyone) and each tier of $tiers (respondents of that tier in the start snapshot
-- $start_as_of), newest first, at most $per_class per class and segment: the NPS group when the
-- answer has an NPS, else the CSAT class (satisfied 4-5, neutral 3, dissatisfied 1-2), else
-- unscored. respondent_name is read only to mask the respondent's own name in the comment
-- (loyalty.reports.digest); it is never shown.
with answers as (
    select
        r.response_id,
        r.responded_at,
        r.nps,
        r.csat,
        trim(src.comment) as comment,
        c.name as respondent_name,
        s.tier,
        case
            when r.nps_group is not null then r.nps_group
            when r.csat >= 4 then 'satisfied'
            when r.csat = 3 then 'neutral'
            when r.csat <= 2 then 'dissatisfied'
            else 'unscored'
        end as comment_class
    from stg_surveys as r
    inner join surveys as src on r.response_id = src.response_id
    left join customers as c on r.customer_id = c.customer_id
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
        and nullif(trim(src.comment), '') is not null
),

-- every comment once for everyone and once for its respondent's tier
segmented as (
    select
        $all_key as report_segment,
        response_id, responded_at, nps, csat, comment, respondent_name, comment_class
    from answers
    union all
    select
        tier as report_segment,
        response_id, responded_at, nps, csat, comment, respondent_name, comment_class
    from answers
    where list_contains($tiers, tier)
),

final as (
    select
        report_segment,
        comment_class,
        response_id,
        responded_at,
        nps,
        csat,
        comment,
        respondent_name
    from segmented
    qualify row_number() over (
        partition by report_segment, comment_class order by responded_at desc, response_id desc
    ) <= $per_class
)

select
    report_segment,
    comment_class,
    responded_at,
    nps,
    csat,
    comment,
    respondent_name
from final
order by
    report_segment asc,
    coalesce(list_position($classes, comment_class), len($classes) + 1) asc,
    responded_at desc,
    response_id desc
