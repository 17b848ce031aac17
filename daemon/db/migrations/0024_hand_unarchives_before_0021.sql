-- Schema version 23: a person unarchived by hand before schema 21 stays active while the feed
-- leaves them out, as one unarchived since (sync/policies.py `keep_hand_unarchives`). Schema 21
-- left them NULL, so the next night that left them out archived them again. The audit log has
-- every hand unarchive and archive, and each run's changes every archive and unarchive it made:
-- a hand unarchive (before 21: its details do not say the person stays) that is the person's
-- last hand decision, of a person still active whom no applied run has archived or unarchived
-- since, still stands. A run's feed listing them (which ends the decision) leaves no trace when
-- it changed nothing; so the first night that would archive them asks (a conflict) rather than
-- archive them, and the question says a night since may have listed them.
UPDATE users SET unarchived_by_hand_at = last_hand.occurred_at
FROM (
    SELECT target_id AS user_id, max(occurred_at) AS occurred_at,
           arg_max(action, audit_id) AS action,
           arg_max(details, audit_id) AS details
    FROM audit_log
    WHERE action IN ('user.archive', 'user.unarchive') AND target_kind = 'users'
    GROUP BY target_id
) last_hand
WHERE users.user_id = last_hand.user_id
  AND last_hand.action = 'user.unarchive'
  AND json_extract(last_hand.details, '$.stays_active_until_the_feed_lists_them') IS NULL
  AND users.status = 'active' AND users.unarchived_by_hand_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM changes c JOIN runs r ON r.run_id = c.run_id
      WHERE c.record_id = users.user_id AND c.kind IN ('students', 'staff', 'guardians')
        AND c.op IN ('archive', 'unarchive') AND r.status = 'applied'
        AND r.decided_at >= last_hand.occurred_at);
