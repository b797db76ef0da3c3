-- grain: one row per (period_type, period_start, tier), tier in A, B, C, D and 'all'.
-- NPS counts the latest response with an nps score per customer in period_start..end_as_of;
-- promoters 9-10, passives 7-8, detractors 0-6; nps = 100 * (P - D) / n with the 95 % margin of
-- error 1.96 * 100 * sqrt((p + d - (p - d)^2) / n). CSAT and CES count every answer on their scale.
-- Tier rows use the start snapshot's tier; respondents outside it count only in 'all'.
-- Intervals at $z_interval (metrics.uncertainty.confidence): nps_low/high = nps -/+ z * its
-- standard error; csat_low/high and response_rate_low/high are Wilson intervals (macros.sql).
-- response_rate = customers active at end_as_of who answered in the period / customers active then.
-- Built incrementally: the periods ending on or after $since are computed; of them, a period that
-- only moved its end (nps_period_moved: its stored row ends before $since) counts its active
-- customers as its stored count plus, for the customers whose state changed after the old end,
-- their count at the new end minus their count at the old end (a count over customers: equal to
-- the count over everyone, tests/test_periods_incremental.py); everything else is computed anew.
with periods as (
    -- every reported period, or in an incremental build those ending on or after $since
    select * from report_periods
    where end_as_of >= $since
),

period_responses as (
    select p.period_type, p.period_start, p.start_as_of, r.*
    from periods as p
    inner join stg_surveys as r on r.response_date between p.period_start and p.end_as_of
),

latest_nps as (
    select *
    from period_responses
    where nps is not null
    qualify row_number() over (
        partition by period_type, period_start, customer_id
        order by responded_at desc, response_id desc
    ) = 1
),

respondents as (
    select distinct period_type, period_start, start_as_of, customer_id from period_responses
),

tiers as (
    -- the respondents' rows of customer_snapshot on the start day (a stored day: report_periods):
    -- customer_state read by its intervals, for them only
    select r.period_type, r.period_start, r.customer_id, s.tier
    from respondents as r
    inner join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on
            s.customer_id = r.customer_id
            and r.start_as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
),

nps_rows as (
    select l.period_type, l.period_start, t.tier, l.nps_group
    from latest_nps as l
    inner join tiers as t
        on l.period_type = t.period_type
        and l.period_start = t.period_start
        and l.customer_id = t.customer_id
    union all
    select period_type, period_start, $all_key as tier, nps_group from latest_nps
),

nps_counts as (
    select
        period_type,
        period_start,
        tier,
        count(*) as responses,
        count(*) filter (where nps_group = 'promoter') as promoters,
        count(*) filter (where nps_group = 'passive') as passives,
        count(*) filter (where nps_group = 'detractor') as detractors
    from nps_rows
    group by all
),

moved as (
    select distinct m.period_type, m.period_start, m.old_end
    from nps_period_moved as m
    inner join periods as p on m.period_type = p.period_type and m.period_start = p.period_start
),

-- whose activity at an end is counted: every customer at the end of a period computed in full, the
-- changed customers at the new end (+1) and at the old end (-1) of a period that moved its end
evaluations as (
    select
        p.period_type,
        p.period_start,
        p.start_as_of,
        p.end_as_of as end_day,
        1 as sign,
        false as changed_only
    from periods as p
    anti join moved as m on p.period_type = m.period_type and p.period_start = m.period_start
    union all
    select p.period_type, p.period_start, p.start_as_of, p.end_as_of, 1, true
    from periods as p
    inner join moved as m on p.period_type = m.period_type and p.period_start = m.period_start
    union all
    select p.period_type, p.period_start, p.start_as_of, m.old_end, -1, true
    from periods as p
    inner join moved as m on p.period_type = m.period_type and p.period_start = m.period_start
),

-- customers active at an evaluated end (customer_state on that stored day), with their start tier
-- (below); a period computed in full reads everyone, a moved one the customers whose state changed
-- after its old end only
end_active as (
    select
        e.period_type,
        e.period_start,
        e.start_as_of,
        e.sign,
        s.customer_id,
        s.valid_from,
        s.tier
    from evaluations as e
    semi join snapshot_params as sp on e.end_day = sp.as_of
    inner join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on e.end_day between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    where s.is_active and not e.changed_only
    union all
    select
        e.period_type,
        e.period_start,
        e.start_as_of,
        e.sign,
        s.customer_id,
        s.valid_from,
        s.tier
    from evaluations as e
    semi join snapshot_params as sp on e.end_day = sp.as_of
    inner join (
        -- the changed customers' rows: those that opened or closed after the earliest old end (a
        -- customer with none has one row on both ends, the same, and counts the same on both)
        select * from customer_state
        where
            coalesce(valid_to, date '9999-12-31') >= $states_from::date
            and (
                valid_from > (select min(old_end) from moved)
                or valid_to >= (select min(old_end) from moved)
            )
    ) as s
        on e.end_day between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    where s.is_active and e.changed_only
),

start_tiers as (
    -- the start tier: the end day's row when it already held on the start day (most customers'
    -- rows did not change in between), else the start day's row (none: not in the population yet)
    select period_type, period_start, sign, tier
    from end_active
    where valid_from <= start_as_of
    union all
    select a.period_type, a.period_start, a.sign, t.tier
    from end_active as a
    left join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as t
        on
            t.customer_id = a.customer_id
            and a.start_as_of between t.valid_from and coalesce(t.valid_to, date '9999-12-31')
    where a.valid_from > a.start_as_of
),

active_counts as (
    -- customers active at the end per start tier: counted, or the stored count moved by the
    -- changed customers
    select
        period_type,
        period_start,
        tier,
        sum(sign)::bigint as active_customers
    from (
        select period_type, period_start, tier, sign from start_tiers
        where tier is not null
        union all
        select period_type, period_start, $all_key as tier, sign from start_tiers
    ) as active_tiers
    group by all
),

-- the respondents active at the period's end, in their start tier (tiers) and in 'all'
respondents_active as (
    select r.period_type, r.period_start, r.customer_id
    from respondents as r
    inner join periods as p on r.period_type = p.period_type and r.period_start = p.period_start
    semi join snapshot_params as sp on p.end_as_of = sp.as_of
    inner join (
        select * from customer_state
        where coalesce(valid_to, date '9999-12-31') >= $states_from::date
    ) as s
        on
            s.customer_id = r.customer_id
            and p.end_as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31')
    where s.is_active
),

respondent_counts as (
    select period_type, period_start, tier, count(*) as active_respondents
    from (
        select a.period_type, a.period_start, t.tier
        from respondents_active as a
        inner join tiers as t
            on a.period_type = t.period_type
            and a.period_start = t.period_start
            and a.customer_id = t.customer_id
        union all
        select period_type, period_start, $all_key as tier from respondents_active
    ) as respondent_tiers
    group by all
),

answer_rows as (
    select r.period_type, r.period_start, t.tier, r.csat, r.ces
    from period_responses as r
    inner join tiers as t
        on r.period_type = t.period_type
        and r.period_start = t.period_start
        and r.customer_id = t.customer_id
    union all
    select period_type, period_start, $all_key as tier, csat, ces from period_responses
),

answer_counts as (
    select
        period_type,
        period_start,
        tier,
        count(csat) as csat_n,
        count(*) filter (where csat >= 4) as csat_satisfied,
        avg(csat) as csat_mean,
        count(ces) as ces_n,
        avg(ces) as ces_mean,
        count(*) filter (where ces >= 5) as ces_high
    from answer_rows
    group by all
),

grid as (
    select p.*, t.tier
    from periods as p
    cross join (select unnest($tier_keys) as tier) as t
),

joined as (
    select
        g.*,
        coalesce(n.responses, 0) as responses,
        coalesce(n.promoters, 0) as promoters,
        coalesce(n.passives, 0) as passives,
        coalesce(n.detractors, 0) as detractors,
        coalesce(a.csat_n, 0) as csat_n,
        a.csat_satisfied,
        a.csat_mean,
        coalesce(a.ces_n, 0) as ces_n,
        a.ces_mean,
        a.ces_high,
        coalesce(mv.active_customers, 0) + coalesce(ac.active_customers, 0) as active_customers,
        coalesce(rc.active_respondents, 0) as active_respondents
    from grid as g
    left join nps_counts as n
        on g.period_type = n.period_type and g.period_start = n.period_start and g.tier = n.tier
    left join answer_counts as a
        on g.period_type = a.period_type and g.period_start = a.period_start and g.tier = a.tier
    left join active_counts as ac
        on g.period_type = ac.period_type
        and g.period_start = ac.period_start
        and g.tier = ac.tier
    left join nps_period_moved as mv
        on g.period_type = mv.period_type
        and g.period_start = mv.period_start
        and g.tier = mv.tier
    left join respondent_counts as rc
        on g.period_type = rc.period_type
        and g.period_start = rc.period_start
        and g.tier = rc.tier
),

shares as (
    select
        *,
        promoters / nullif(responses, 0) as promoter_share,
        detractors / nullif(responses, 0) as detractor_share,
        nps_std_error(
            promoters / nullif(responses, 0), detractors / nullif(responses, 0), responses
        ) as nps_se
    from joined
),

final as (
    select
        period_type,
        period_start,
        tier,
        responses,
        promoters,
        passives,
        detractors,
        100 * (promoter_share - detractor_share) as nps,
        1.96 * 100 * sqrt(
            greatest(
                promoter_share + detractor_share - (promoter_share - detractor_share) ^ 2, 0
            ) / responses
        ) as nps_moe95,
        responses < $nps_low_sample as low_sample,
        csat_satisfied / nullif(csat_n, 0) as csat,
        csat_n,
        ces_mean,
        ces_n,
        csat_mean,
        ces_high / nullif(ces_n, 0) as ces_high_share,
        -- greatest/least skip NULLs: no responses must stay NULL, not -100..100
        case when responses > 0 then greatest(
            100 * (promoter_share - detractor_share) - $z_interval * nps_se, -100
        ) end as nps_low,
        case when responses > 0 then least(
            100 * (promoter_share - detractor_share) + $z_interval * nps_se, 100
        ) end as nps_high,
        nps_se as nps_std_error,
        wilson_low(csat_satisfied, csat_n, $z_interval) as csat_low,
        wilson_high(csat_satisfied, csat_n, $z_interval) as csat_high,
        csat_satisfied,
        active_customers,
        active_respondents,
        active_respondents / nullif(active_customers, 0) as response_rate,
        wilson_low(active_respondents, active_customers, $z_interval) as response_rate_low,
        wilson_high(active_respondents, active_customers, $z_interval) as response_rate_high,
        period_end,
        end_as_of,
        is_complete
    from shares
)

select * from final
order by period_type, period_start, tier
