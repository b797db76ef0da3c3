-- grain: one row per (as_of, measure, value) of snapshot_values (a step of customer_snapshot, a
-- temp table): the score 1..5 of every customer with that value that day. With percent ranks
-- (docs/metrics.md): percent_rank = (rank - 1) / (population - 1), rank = 1 + customers ranked
-- below, more recent ranking higher; with explicit bins (metrics.rfm_bins): the edges reached.
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

monetary_ranks as (
    select
        as_of,
        value,
        rfm_rank_score(
            customers_below(customers, as_of, value),
            sum(customers) over (partition by as_of)
        ) as pct_score
    from snapshot_values
    where measure = 'm'
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
    union all
    select
        as_of,
        'm' as measure,
        value,
        case
            -- whole cents back to the money the edges are written in
            when $use_bins then 1 + edges_reached((value / 100)::decimal(38, 2), $m_edges)
            else pct_score
        end::integer as score
    from monetary_ranks
)

select * from scores
