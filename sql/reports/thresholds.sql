-- The thresholds stored with the latest snapshot on or before day $as_of (JSON).
select params_json
from snapshot_params
where as_of = (select max(p.as_of) from snapshot_params as p where p.as_of <= $as_of)
