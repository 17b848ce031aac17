-- Schema version 26: the SFTP folders the mirror cannot list that drops wait on
-- (service/main_loop.py `_record_unlisted`), so `status` says for how long and the notifications
-- tell someone once it is longer than `unreachable_hours` (notify/events.py). A folder whose
-- permissions changed for good made its drop, and every SFTP drop queued after it, wait in
-- silence. One row per folder while drops wait on it; `listed_at` is set when none does any
-- more (the folder was listed again, or moved away), and the row is removed once that is told.
CREATE TABLE sftp_unlisted_folders (
    folder VARCHAR NOT NULL,          -- "2026-09-15/", as the mirror names it
    since TIMESTAMP NOT NULL,         -- naive UTC: when a drop was first seen waiting on it
    waiting VARCHAR NOT NULL,         -- the drops waiting on it, ", "-joined, as status names them
    listed_at TIMESTAMP               -- naive UTC: no drop waits on it any more (NULL: some do)
);
