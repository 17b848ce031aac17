-- Schema version 10: duplicate evidence that twins never share.
-- Two more verdicts per candidate: `user_ids` (an id of userIds in common, such as a state id)
-- and `lifecycle` (handover: one record left the feed in the run the other arrived in, or within
-- a few runs; coexist: both in the feed at once; apart). The lifecycle is derived from what the
-- runs already record on each user (created_run, archived_run), so no new table is needed.
ALTER TABLE duplicate_candidates ADD COLUMN evidence.user_ids VARCHAR;
ALTER TABLE duplicate_candidates ADD COLUMN evidence.lifecycle VARCHAR;
ALTER TABLE duplicate_candidates ADD COLUMN field_points.user_ids INTEGER;
ALTER TABLE duplicate_candidates ADD COLUMN field_points.lifecycle INTEGER;
