-- Schema version 28: the content of a drop a person set aside (`roster-sync drops set-aside`),
-- as its run would have recorded it (`runs.content_hash`). The daemon plans no drop whose content
-- a person set aside, by whatever path its files come back (dropped again into the inbox, a
-- queued copy left by a crash, a new upload of the same files to the SFTP server):
-- service/main_loop.py `_process`. NULL: not set aside, or its files could not be read.
ALTER TABLE drops ADD COLUMN content_hash VARCHAR;
