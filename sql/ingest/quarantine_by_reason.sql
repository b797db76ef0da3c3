-- Input records of one kind in quarantine, per reason, most first (the ingest asset's metadata).
select
    reason_code,
    sum(line_count) as records
from quarantine
where source = $source
group by reason_code
order by records desc;
