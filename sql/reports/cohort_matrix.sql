-- Every cell of the cohort matrix (cohort_retention), the cohorts first, then the size-weighted
-- average row (row_type 'average', cohort_month NULL).
select
    row_type = 'average' as is_average,
    cohort_month as cohort,
    k,
    size,
    share,
    is_complete as complete
from cohort_retention
order by is_average, cohort, k
