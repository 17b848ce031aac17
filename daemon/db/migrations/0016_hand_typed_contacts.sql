-- Schema version 16: contacts typed when a person is made by hand are a person's, as an edit's
-- are (records.create_user marks them so since this version): people made by hand before are
-- marked too, so a night that reaches one (a merge keeping it over a synced record, whose SIS
-- id the feed still sends) makes each difference a contact conflict instead of overwriting it.
UPDATE users SET contacts_edited = true
WHERE origin = 'hand' AND NOT coalesce(contacts_edited, false)
  AND (email IS NOT NULL OR mobile_phone IS NOT NULL OR home_phone IS NOT NULL);
