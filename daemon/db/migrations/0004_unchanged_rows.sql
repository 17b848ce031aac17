-- Schema version 4: remember what each synced enrollment was last synced from, so that a
-- nightly run can tell the rows that did not change (most of them) without resolving them again.
-- source_hash: the feed row's values (and the settings that shape it) when last synced.
-- synced_hash: the record's own values as the sync wrote them; a later edit breaks the match.
ALTER TABLE enrollments ADD COLUMN source_hash UBIGINT;
ALTER TABLE enrollments ADD COLUMN synced_hash UBIGINT;
