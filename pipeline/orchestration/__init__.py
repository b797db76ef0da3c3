"""The Dagster layer's plumbing: the resource, partitions, jobs, schedules, sensors and failure
alerts. The assets and checks are in `loyalty.assets`; `loyalty.definitions` puts them together.
Nothing below this layer imports Dagster (docs/architecture.md)."""
