-- grain: one row per figure of a closed period (figures_now, a temp table of figures_now.sql)
-- whose value differs from the one the last run recorded (period_figures) by more than
-- $tolerance, or that gained or lost a value: the restatements of this run ($restated_at, $run_id).
-- Periods closing for the first time are not restatements (they have no recorded value yet).
-- Cause: $setting_cause (the metric settings that changed) when set; else the ingest loads since
-- the last run ($loads_seen) with rows dated on or before the period's end (or every such load
-- when none is dated there: a replaced row's old day is unknown); else $recomputed_cause.
with changed as (
    select
        n.table_name,
        n.period_type,
        n.period_start,
        n.period_end,
        n.key,
        n.metric,
        o.value as old_value,
        n.value as new_value
    from figures_now as n
    inner join period_figures as o
        on
            n.table_name = o.table_name
            and n.period_type = o.period_type
            and n.period_start = o.period_start
            and n.key = o.key
            and n.metric = o.metric
    where
        (n.value is null) <> (o.value is null)
        or abs(n.value - o.value) > $tolerance
),

new_loads as (
    select load_id, file_name
    from ingest_log
    where load_id > $loads_seen and status = 'loaded'
),

load_days as (
    select _load_id as load_id, min(ordered_at)::date as first_day
    from orders where _load_id > $loads_seen group by _load_id
    union all
    select _load_id as load_id, min(opened_at)::date as first_day
    from tickets where _load_id > $loads_seen group by _load_id
    union all
    select _load_id as load_id, min(responded_at)::date as first_day
    from surveys where _load_id > $loads_seen group by _load_id
),

loads as (
    select
        l.load_id,
        'load ' || l.load_id || ' (' || l.file_name || ')' as label,
        min(d.first_day) as first_day
    from new_loads as l
    left join load_days as d on l.load_id = d.load_id
    group by l.load_id, l.file_name
),

every_load as (
    select
        string_agg(label, '; ' order by load_id) as label,
        min(load_id) as load_id
    from loads
),

dated as (
    select
        c.table_name,
        c.period_type,
        c.period_start,
        c.key,
        c.metric,
        string_agg(l.label, '; ' order by l.load_id) as label,
        min(l.load_id) as load_id
    from changed as c
    inner join loads as l on l.first_day <= c.period_end
    group by c.table_name, c.period_type, c.period_start, c.key, c.metric
),

final as (
    select
        $restated_at::timestamp as restated_at,
        $run_id::varchar as run_id,
        c.period_type,
        c.period_start,
        c.period_end,
        c.table_name,
        c.key,
        c.metric,
        c.old_value,
        c.new_value,
        case
            when $setting_cause::varchar is not null then 'setting'
            when coalesce(d.label, e.label) is not null then 'load'
            else 'recomputed'
        end as cause_kind,
        coalesce(
            $setting_cause::varchar || coalesce('; ' || coalesce(d.label, e.label), ''),
            d.label,
            e.label,
            $recomputed_cause::varchar
        ) as cause,
        coalesce(d.load_id, e.load_id) as load_id
    from changed as c
    left join dated as d
        on
            c.table_name = d.table_name
            and c.period_type = d.period_type
            and c.period_start = d.period_start
            and c.key = d.key
            and c.metric = d.metric
    cross join every_load as e
)

select * from final
