-- Schema version 23: a synced person remembers the hash of the users.csv row (and of what else
-- shapes their feed row: their demographics.csv row, the settings, the files' headers) they were
-- last applied from (sync/unchanged.py `raw_key`), written by apply with source_hash, so a
-- night can recognise them before normalising the row. NULL for everyone before this version:
-- the first night after it sends every person the full path once, and refreshes it.
ALTER TABLE users ADD COLUMN raw_hash UBIGINT;
