-- grain: one row per as_of of snapshot_money (a step of customer_snapshot, a temp table): the edges
-- of the day's money scores, m2..m5, as snapshot_thresholds.sql defines them: m<k> the smallest
-- cents of the day's population scoring k or more (NULL when none). With percent ranks a value
-- scores rfm_rank_score(customers below it, population); with explicit bins (metrics.rfm_bins) the
-- bins' edges reached. snapshot_money holds the day's values with the customers having each: one
-- row per customer-day (snapshot_money.sql) or, on a carried night, per value of the whole
-- population (carry/snapshot_money.sql).
-- Money has nearly as many values as customers, so ranking every value of every day (a sort of
-- every customer-day; on Spark a window over one day's values is one task) is avoided: the values
-- are counted per day in coarse buckets (monotone in the value: 16 per factor e of the cents), the
-- running counts of the buckets bound the customers below any value of a bucket, and only the
-- values of the buckets an edge can fall in are ranked: the first bucket in which a value can score
-- k (the customers below its last value are at most its running count minus one) and the next
-- bucket (every value of the first may tie at a lower score; a value of the next has as many
-- customers below as the running count through the first).
with money as (
    select
        as_of,
        value,
        customers,
        (sign(value) * floor(16 * ln(1 + abs(value))))::integer as bucket
    from snapshot_money
),

buckets as (
    select
        as_of,
        bucket,
        sum(customers)::bigint as customers
    from money
    where not $use_bins
    group by as_of, bucket
),

running as (
    select
        as_of,
        bucket,
        customers,
        sum(customers) over (partition by as_of order by bucket rows unbounded preceding) as through,
        sum(customers) over (partition by as_of) as population,
        lead(bucket) over (partition by as_of order by bucket) as next_bucket
    from buckets
),

scores as (
    select unnest([2, 3, 4, 5]) as k
),

-- per day and score: the first bucket with a value that can score k, and the bucket after it
first_buckets as (
    select
        r.as_of,
        s.k,
        min(r.bucket) as bucket
    from running as r
    cross join scores as s
    where rfm_rank_score(r.through - 1, r.population) >= s.k
    group by r.as_of, s.k
),

candidates as (
    select
        f.as_of,
        f.bucket
    from first_buckets as f
    union
    select
        r.as_of,
        r.next_bucket as bucket
    from first_buckets as f
    inner join running as r on f.as_of = r.as_of and f.bucket = r.bucket
    where r.next_bucket is not null
),

candidate_values as (
    select
        m.as_of,
        m.bucket,
        m.value,
        sum(m.customers)::bigint as customers
    from money as m
    semi join candidates as c on m.as_of = c.as_of and m.bucket = c.bucket
    group by m.as_of, m.bucket, m.value
),

-- customers below a value: those of the buckets before its own, then those below it in its own
ranked as (
    select
        v.as_of,
        v.value,
        rfm_rank_score(
            r.through - r.customers + coalesce(sum(v.customers) over (
                partition by v.as_of, v.bucket order by v.value
                rows between unbounded preceding and 1 preceding
            ), 0),
            r.population
        ) as score
    from candidate_values as v
    inner join running as r on v.as_of = r.as_of and v.bucket = r.bucket
),

by_ranks as (
    select
        as_of,
        min(value) filter (score >= 2) as m2,
        min(value) filter (score >= 3) as m3,
        min(value) filter (score >= 4) as m4,
        min(value) filter (score >= 5) as m5
    from ranked
    group by as_of
),

-- whole cents back to the money the bins' edges are written in
by_bins as (
    select
        as_of,
        min(value) filter (1 + edges_reached((value / 100)::decimal(38, 2), $m_edges) >= 2) as m2,
        min(value) filter (1 + edges_reached((value / 100)::decimal(38, 2), $m_edges) >= 3) as m3,
        min(value) filter (1 + edges_reached((value / 100)::decimal(38, 2), $m_edges) >= 4) as m4,
        min(value) filter (1 + edges_reached((value / 100)::decimal(38, 2), $m_edges) >= 5) as m5
    from money
    where $use_bins
    group by as_of
)

select * from by_ranks
union all
select * from by_bins
