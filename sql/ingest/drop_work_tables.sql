-- The working tables of one unit's load (pipeline/ingest/worktables.py), dropped after the unit
-- and before the next one. Views first: they read the tables.
drop view if exists ingest_good;
drop view if exists ingest_mapped;
drop table if exists ingest_raw;
drop table if exists ingest_raw_lines;
drop table if exists ingest_blank_lines;
drop table if exists ingest_rejects;
drop table if exists ingest_rejects_scan;
drop table if exists ingest_typed;
drop table if exists ingest_bad;
