-- How many restatements were recorded after $since (NULL: all), and by how many runs.
select
    count(*) as restated,
    count(distinct restated_at) as runs
from restatements
where $since::timestamp is null or restated_at > $since::timestamp
