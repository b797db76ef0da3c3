-- Input records quarantined by one load (lines of an order count one each).
select coalesce(sum(line_count), 0) as lines
from quarantine
where load_id = $load_id;
