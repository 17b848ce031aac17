-- Schema version 21: a person unarchived by hand stays active while the feed leaves them out, as
-- one archived by hand stays archived while the feed lists them (sync/policies.py
-- `keep_hand_unarchives`): when a person unarchived them, until a run whose feed lists them is
-- applied or they are archived again. NULL for everyone before this version (the audit log
-- holds earlier hand unarchives; the next night the feed leaves one out archives them as before).
ALTER TABLE users ADD COLUMN unarchived_by_hand_at TIMESTAMP;
