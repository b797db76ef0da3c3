-- The recipients email_log holds for week $week (ISO label) and mode $mode (smtp | dry_run).
select recipient
from email_log
where week = $week and mode = $mode
