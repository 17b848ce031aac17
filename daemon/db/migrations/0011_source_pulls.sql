-- Schema version 11: runs pulled from an API source ([sources.NAME] in the daemon's config) name
-- that source and keep what the pull fetched (pages and records per resource, retries, time), so
-- `roster-sync sources` shows each source's last pull and a run shows where its data came from.
ALTER TABLE runs ADD COLUMN source_name VARCHAR;
ALTER TABLE runs ADD COLUMN fetch_json VARCHAR;
