-- grain: one row per (week, recipient, mode): the sent-log that makes the weekly email go out
-- exactly once per week and recipient, whatever the retries, re-runs or backfills.
create table if not exists email_log (
    week        varchar not null,   -- ISO week label, e.g. 2026-W46
    recipient   varchar not null,
    message_id  varchar not null,
    sent_at     timestamp not null, -- when the server accepted it (or the .eml was written)
    mode        varchar not null,   -- smtp | dry_run
    primary key (week, recipient, mode)
)
