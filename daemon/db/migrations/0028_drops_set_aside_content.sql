-- Schema version 28: the content of a drop a person set aside (`roster-sync drops set-aside`).
-- `content_hashes`: every content it was known by, as a run would record it (`runs.content_hash`:
-- its queued copy's, and for an SFTP drop the mirror's copy of the server's files), or, when its
-- files could not be opened as a drop (a broken ZIP), a hash of their bytes ('raw:...'). The
-- daemon plans no drop of such a content, however its files come back (dropped again into the
-- inbox, a queued copy left by a crash, the same files uploaded again to the SFTP server), until a
-- person plans that content by hand after the decision (`set_aside_after_run`: the newest run when
-- it was set aside): service/main_loop.py `_process`. NULL: not set aside, or not read yet.
ALTER TABLE drops ADD COLUMN content_hashes VARCHAR[];
ALTER TABLE drops ADD COLUMN set_aside_after_run BIGINT;
