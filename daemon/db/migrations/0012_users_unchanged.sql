-- Schema version 12: users remember what they were last synced from, as enrollments do (0004),
-- so that a nightly run recognises the unchanged people (most of them) without matching them
-- again. source_hash: the normalised feed row and the settings that shaped it when last synced.
-- synced_hash: the record's own values as the sync wrote them; any later edit breaks the match.
ALTER TABLE users ADD COLUMN source_hash UBIGINT;
ALTER TABLE users ADD COLUMN synced_hash UBIGINT;
