-- The typed rows of the unit being loaded that passed the contract: the rows the upsert writes.
create temp view ingest_good as
select *
from ingest_typed
where _row not in (select _row from ingest_bad);
