-- When the last weekly email of a week before $week (ISO label) went out (any mode); NULL if none.
select max(sent_at) as sent_at
from email_log
where week < $week
