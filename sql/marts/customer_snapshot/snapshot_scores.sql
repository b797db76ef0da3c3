-- grain: one row per (as_of, measure, value) of snapshot_values for recency and frequency (a step
-- of customer_snapshot, a temp table): the score 1..5 of every customer with that value that day.
-- With percent ranks (docs/metrics.md): percent_rank = (rank - 1) / (population - 1), rank = 1 +
-- customers ranked below, more recent ranking higher; with explicit bins (metrics.rfm_bins): the
-- edges reached. They have few values (days, order counts); money, with nearly a value per
-- customer, is not ranked value by value: its edges come from snapshot_money_edges.sql (a carried
-- night's snapshot_values holds money's values too, for those edges).
with recency_ranks as (
    select
        as_of,
        value,
        rfm_rank_score(
            customers_below(customers, as_of, -value),
            sum(customers) over (partition by as_of)
        ) as pct_score
    from snapshot_values
    where measure = 'r'
),

frequency_ranks as (
    select
        as_of,
        value,
        rfm_rank_score(
            customers_below(customers, as_of, value),
            sum(customers) over (partition by as_of)
        ) as pct_score
    from snapshot_values
    where measure = 'f'
),

scores as (
    select
        as_of,
        'r' as measure,
        value,
        case
            when $use_bins then 5 - edges_reached(value, $r_edges) else pct_score
        end::integer as score
    from recency_ranks
    union all
    select
        as_of,
        'f' as measure,
        value,
        case
            when $use_bins then 1 + edges_reached(value, $f_edges) else pct_score
        end::integer as score
    from frequency_ranks
)

select * from scores
