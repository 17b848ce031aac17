-- Schema version 17: a membership or guardian link a person made stays theirs (sync/kinds.py
-- adopts_hand_made): the feed no longer takes one over when it lists the same pair, so the sync
-- never archives it once the SIS stops listing it. One taken over before this version is an
-- active record the sync holds that no run created (a run's create sets created_run; a person's
-- does not): it is the person's again. One the sync archived since stays the sync's (the feed
-- listing it again brings it back, as before).
UPDATE enrollments SET origin = 'hand'
WHERE origin = 'sync' AND created_run IS NULL AND status = 'active';
UPDATE guardian_links SET origin = 'hand'
WHERE origin = 'sync' AND created_run IS NULL AND status = 'active';
