-- Schema version 22: whether a drop carried a manifest.csv, so the daemon knows which drops to
-- wait for one (service/inbox.py): once the drops of a source carry a manifest, a drop without
-- one is not taken the moment it is quiet (an SIS that pauses before uploading the manifest
-- would have its delta files read as bulk, archiving everyone they leave out).
-- 'carried': it had one (at its top, or in its ZIP); 'missing': the drop before it had one, it
-- waited for its own and was taken without it (its run is left for review when it archives);
-- NULL: none, and none was expected (every drop decided before this version).
ALTER TABLE drops ADD COLUMN manifest VARCHAR;
