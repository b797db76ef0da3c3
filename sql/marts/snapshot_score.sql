-- Part of the customer_snapshot computation (see customer_snapshot.sql): reads snapshot_days,
-- snapshot_segments and snapshot_last_clear, inserts the days, drops the temporary tables.
-- (6) scores, tier, segment, flagged_since
insert into customer_snapshot by name
-- percent_rank = (rank - 1) / (population - 1) with rank = 1 + customers ranked below; counted
-- over one row per (day, value) instead of sorting every customer (values tie a lot)
with recency_ranks as (
    select
        as_of,
        recency_days,
        least(5, 1 + floor(5 * case
            when population > 1 then (below::double) / (population - 1)::double else 0
        end))::integer as pct_score
    from (
        select
            as_of,
            recency_days,
            sum(customers) over (partition by as_of order by recency_days desc
                rows between unbounded preceding and 1 preceding) as below_or_null,
            coalesce(below_or_null, 0) as below,
            sum(customers) over (partition by as_of) as population
        from (select as_of, recency_days, count(*) as customers from snapshot_days group by all)
    )
),

frequency_ranks as (
    select
        as_of,
        frequency,
        least(5, 1 + floor(5 * case
            when population > 1 then (below::double) / (population - 1)::double else 0
        end))::integer as pct_score
    from (
        select
            as_of,
            frequency,
            coalesce(sum(customers) over (partition by as_of order by frequency
                rows between unbounded preceding and 1 preceding), 0) as below,
            sum(customers) over (partition by as_of) as population
        from (select as_of, frequency, count(*) as customers from snapshot_days group by all)
    )
),

monetary_ranks as (
    select
        as_of,
        monetary_cents,
        least(5, 1 + floor(5 * case
            when population > 1 then (below::double) / (population - 1)::double else 0
        end))::integer as pct_score
    from (
        select
            as_of,
            monetary_cents,
            coalesce(sum(customers) over (partition by as_of order by monetary_cents
                rows between unbounded preceding and 1 preceding), 0) as below,
            sum(customers) over (partition by as_of) as population
        from (select as_of, monetary_cents, count(*) as customers from snapshot_days group by all)
    )
),

scored as (
    select
        x.*,
        sg.* exclude (customer_key, may_clear, frequency, monetary_cents),
        case
            when $use_bins then 5 - (
                (x.recency_days >= $r_edges[1])::integer
                + (x.recency_days >= $r_edges[2])::integer
                + (x.recency_days >= $r_edges[3])::integer
                + (x.recency_days >= $r_edges[4])::integer
            )
            else rr.pct_score
        end::integer as r,
        case
            when $use_bins then 1 + (
                (x.frequency >= $f_edges[1])::integer
                + (x.frequency >= $f_edges[2])::integer
                + (x.frequency >= $f_edges[3])::integer
                + (x.frequency >= $f_edges[4])::integer
            )
            else fr.pct_score
        end::integer as f,
        case
            when $use_bins then 1 + (
                (sg.monetary >= $m_edges[1])::integer
                + (sg.monetary >= $m_edges[2])::integer
                + (sg.monetary >= $m_edges[3])::integer
                + (sg.monetary >= $m_edges[4])::integer
            )
            else mr.pct_score
        end::integer as m
    from snapshot_days as x
    inner join snapshot_segments as sg on x.segment_id = sg.rowid
    inner join recency_ranks as rr on x.as_of = rr.as_of and x.recency_days = rr.recency_days
    inner join frequency_ranks as fr on x.as_of = fr.as_of and x.frequency = fr.frequency
    inner join monetary_ranks as mr
        on x.as_of = mr.as_of and x.monetary_cents = mr.monetary_cents
),

weighted as (
    select
        *,
        round(
            100 * ($w_r * r + $w_f * f + $w_m * m) / (5 * ($w_r + $w_f + $w_m)), 4
        ) as rfm_score,
        (f + m + 1) // 2 as fm
    from scored
),

segment_map as (
    select unnest($seg_r) as r, unnest($seg_fm) as fm, unnest($seg_name) as segment
),

flagged as (
    select
        w.*,
        case
            when w.rfm_score >= $tier_a then 'A'
            when w.rfm_score >= $tier_b then 'B'
            when w.rfm_score > $tier_c then 'C'
            else 'D'
        end as tier,
        s.segment,
        case
            when w.tenure_days <= $new_max_days then 'new'
            when w.tenure_days <= $growing_max_days then 'growing'
            else 'mature'
        end as lifecycle_stage,
        lc.last_clear_day
    from weighted as w
    left join segment_map as s on w.r = s.r and w.fm = s.fm
    left join snapshot_last_clear as lc
        on w.customer_key = lc.customer_key and w.as_of = lc.as_of
),

final as (
    select
        as_of,
        customer_id,
        first_order_at,
        last_order_at,
        recency_days,
        frequency::integer as frequency,
        monetary,
        r,
        f,
        m,
        rfm_score,
        tier,
        segment,
        lifecycle_stage,
        is_active,
        inactive,
        complaints,
        activity_drop,
        churn_risk,
        case
            when not churn_risk then null
            when last_clear_day is not null then last_clear_day + 1
            -- at risk on every day of the range the customer was in: a run that reaches the first
            -- day of the range continues the stored run of the day before
            when first_order_date > $start_date::date then first_order_date
            else coalesce(previous_flagged_since, $start_date::date)
        end as flagged_since,
        nullif(concat_ws(
            ',',
            case when inactive then 'inactive' end,
            case when complaints then 'complaints' end,
            case when activity_drop then 'activity_drop' end
        ), '') as churn_reasons,
        tenure_days,
        fm,
        lifetime_orders::integer as lifetime_orders,
        lifetime_value,
        orders_recent::integer as orders_recent,
        drop_history_days,
        drop_history_orders::integer as drop_history_orders,
        complaint_count::integer as complaint_count
    from flagged
)

select * from final;

drop table if exists snapshot_start_state;

drop table if exists snapshot_changes;

drop table snapshot_days;

drop table snapshot_segments;

drop table snapshot_last_clear;
