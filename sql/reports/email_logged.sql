-- Logs one recipient of week $week's email, right after the server accepted it (or the dry run
-- wrote its .eml file).
insert into email_log (week, recipient, message_id, sent_at, mode)
values ($week, $recipient, $message_id, $sent_at, $mode)
