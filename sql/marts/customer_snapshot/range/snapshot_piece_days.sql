-- grain: one row per (segment_id, as_of) of snapshot_days that begins a run of snapshot_pieces (a
-- step of customer_snapshot for a range of days, a temp table that replaces snapshot_days once the
-- days' values, scores and edges are counted): snapshot_rows scores these days only.
select d.*
from snapshot_days as d
semi join snapshot_pieces as p on d.segment_id = p.segment_id and d.as_of = p.from_day
