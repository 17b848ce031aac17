-- Schema version 14: a queued notification stays with the channel it was made for. Channels
-- are named by position by default (email-1, webhook-1), so a name alone moves with an edit of
-- the config; channel_key is who the channel reaches (a hash of its recipients or URL, see
-- daemon/notify/config.py). NULL for deliveries made before: those are matched by name.
ALTER TABLE notify_deliveries ADD COLUMN channel_key VARCHAR;
