-- grain: one row: the verdict of the check on retention_period. Each "violations: ..." column counts
-- the breaches of one rule (the check passes when all are 0). For 'all': start - lost + new (active
-- at end) + reactivated = end; tiers add up to 'all'; kept, churn and activation rates within
-- [0, 1] (retention_rate may exceed 1 by design).
-- The rules on single rows are counted in one pass over the table (on Spark each scalar subquery
-- is a job of its own).
with duplicates as (
    select period_type, period_start, tier
    from retention_period
    group by all
    having count(*) > 1
),

tier_sums as (
    select
        period_type,
        period_start,
        sum(start_count) filter (where tier <> $all_key) as s_tiers,
        sum(start_count) filter (where tier = $all_key) as s_all,
        sum(end_count) filter (where tier <> $all_key) as e_tiers,
        sum(end_count) filter (where tier = $all_key) as e_all
    from retention_period
    group by all
),

verdict as (
    select
        (select count(*) from duplicates)
        as "violations: duplicate (period_type, period_start, tier)",
        count(*) filter (
            where tier = $all_key
                and start_count - lost_count + new_active_count + reactivated_count <> end_count
        ) as "violations: start - lost + new + reactivated <> end",
        (select count(*) from tier_sums where s_tiers <> s_all or e_tiers <> e_all)
        as "violations: tier start/end counts do not sum to all",
        count(*) filter (where kept_rate not between 0 and 1)
        as "violations: kept_rate outside [0,1]",
        count(*) filter (where churn_rate not between 0 and 1)
        as "violations: churn_rate outside [0,1]",
        count(*) filter (where activation_rate not between 0 and 1)
        as "violations: activation_rate outside [0,1]",
        count(*) as "rows checked"
    from retention_period
)

select * from verdict
