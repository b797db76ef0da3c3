-- Tables written by ingest. Grain and meaning are documented in README "Database tables".
-- The contract tables hold one row per key (latest version wins: the loader replaces a key's
-- earlier version, and the blocking <kind>_keys_unique_not_null check verifies it). They carry no
-- PRIMARY KEY index on purpose: DuckDB keeps such an index in memory, which made a 50 M-order load
-- fail under a 1 GB memory limit. Their columns follow
-- pipeline/contracts.py (a test checks both agree). Timestamps are wall-clock time in the
-- business time zone of the settings.

create sequence if not exists load_id_seq start 1;

-- one row per file seen by ingest (loaded, skipped as already loaded, or failed)
create table if not exists ingest_log (
    load_id            bigint primary key,
    source             varchar not null,   -- orders | tickets | surveys | customers
    file_name          varchar not null,   -- path relative to the landing folder
    content_hash       varchar not null,   -- sha256 of the file bytes (of all files for a query source)
    size_bytes         bigint,
    status             varchar not null,   -- loaded | skipped | empty
    note               varchar,            -- why skipped; notices of a load (blank header names,
                                           -- lines read with U+FFFD, scores set to NULL,
                                           -- return_unlinked: returns without a known order)
    rows_read          bigint not null,    -- records in the file (lines for line-level sources)
    rows_loaded        bigint not null,    -- records that made it into the contract table
    rows_quarantined   bigint not null,
    rows_filtered      bigint not null,    -- excluded on purpose by the mapping's filter
    keys_loaded        bigint not null,    -- rows (orders for line-level sources) upserted
    keys_replaced      bigint not null,    -- keys that replaced an earlier version
    loaded_at          timestamp not null,
    run_id             varchar,
    modified_at        timestamp           -- file modification time (UTC); with name and size it
                                           -- lets a nightly run skip known files without reading them
);
-- databases created before modified_at existed
alter table ingest_log add column if not exists modified_at timestamp;

-- one row per rejected input record (or per rejected order for line-level sources)
create table if not exists quarantine (
    load_id        bigint not null,
    source         varchar not null,
    file_name      varchar not null,
    line           bigint,               -- physical line of the record in the file (header is 1)
    line_count     bigint not null,      -- input records behind this row (lines of an order)
    reason_code    varchar not null,     -- missing_value | bad_type | out_of_range | not_allowed |
                                         -- duplicate_key | unparseable_line | too_long |
                                         -- bad_encoding
    column_name    varchar,
    reason         varchar not null,     -- human readable
    record         varchar,              -- the rejected record as JSON (may hold PII: never logged)
    quarantined_at timestamp not null
);

create table if not exists orders (
    order_id       varchar not null,
    customer_id    varchar not null,
    ordered_at     timestamp not null,
    amount         decimal(18, 2) not null,
    status         varchar not null,
    refund_amount  decimal(18, 2) not null,
    channel        varchar,
    original_order_id varchar,           -- a return's original order, when known (else null)
    _load_id       bigint not null,
    _line          bigint
);
-- databases created before original_order_id existed
alter table orders add column if not exists original_order_id varchar;

create table if not exists tickets (
    ticket_id          varchar not null,
    customer_id        varchar not null,
    opened_at          timestamp not null,
    first_response_at  timestamp,
    resolved_at        timestamp,
    category           varchar not null,
    priority           varchar not null,
    channel            varchar,
    satisfaction       integer,
    _load_id           bigint not null,
    _line              bigint
);

create table if not exists surveys (
    response_id   varchar not null,
    customer_id   varchar not null,
    responded_at  timestamp not null,
    nps           integer,
    csat          integer,
    ces           integer,
    comment       varchar,
    _load_id      bigint not null,
    _line         bigint
);

create table if not exists customers (
    customer_id   varchar not null,
    signed_up_at  timestamp,
    name          varchar,
    email         varchar,
    phone         varchar,
    region        varchar,
    member_level  varchar,
    _load_id      bigint not null,
    _line         bigint
);

-- the newest load whose rows the blocking <kind>_keys_unique_not_null check has verified: the next
-- check looks only at rows loaded after it (against the whole table)
create table if not exists key_check_state (
    source            varchar primary key,
    verified_through  bigint not null,
    verified_at       timestamp not null
);
