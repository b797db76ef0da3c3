-- grain: one row per (row_type, cohort_month, k) of the stored cohort cells whose activity month
-- is before $since: the cells an incremental build keeps (every other row, the average rows
-- included, is replaced).
with unchanged as (
    select row_type, cohort_month, k
    from cohort_retention
    where row_type = 'cohort' and activity_month < $since
)

select * from unchanged
