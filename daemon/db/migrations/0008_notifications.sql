-- Schema version 8: notifications (daemon/notify). An outbox, so a message that cannot be sent
-- now is sent later and a sync never waits for a mail server: events are recorded once each
-- (dedup_key), every configured channel gets a delivery, and every attempt is kept with its
-- error. Times are UTC. Nothing here holds a secret or names a person: an event's data is
-- counts and run ids, and errors are worded without passwords, keys or webhook paths.
-- Ids are max + 1 (the daemon is the single writer).

CREATE TABLE notify_events (
    event_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- run_held | run_failed | review_reminder | ... | test
    dedup_key VARCHAR NOT NULL UNIQUE,-- the same event is never recorded (or sent) twice
    run_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    district VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    body VARCHAR NOT NULL,            -- the message as rendered when the event happened
    command VARCHAR,                  -- what to run to see more (roster-sync show 12)
    screen VARCHAR,                   -- where to look in roster-tui
    data VARCHAR NOT NULL             -- JSON: counts and run ids
);

CREATE TABLE notify_deliveries (
    delivery_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    channel VARCHAR NOT NULL,         -- the channel's name in [notify] (email-1, webhook-1, ...)
    status VARCHAR NOT NULL,          -- pending | sent | failed (gave up) | dropped (channel gone)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_attempt_at TIMESTAMP,
    last_error VARCHAR,
    sent_at TIMESTAMP
);

CREATE TABLE notify_attempts (
    delivery_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    ok BOOLEAN NOT NULL,
    note VARCHAR,                     -- what the server said, or why it failed
    seconds DOUBLE
);

-- Whether each source (the SFTP server) answers: last success, and since when it fails.
CREATE TABLE notify_sources (
    source VARCHAR NOT NULL,
    last_success_at TIMESTAMP,
    last_failure_at TIMESTAMP,
    failing_since TIMESTAMP,          -- first failure after the last success (NULL: answering)
    recovered_from TIMESTAMP          -- the failing_since of an outage that just ended (to report)
);

-- Where the watcher has got to: the first run it speaks about.
CREATE TABLE notify_marks (
    name VARCHAR NOT NULL,
    value BIGINT NOT NULL
);

-- Duplicate pairs already told about (a rescan renumbers candidates; a pair is a pair).
CREATE TABLE notify_seen_pairs (
    left_id BIGINT NOT NULL,
    right_id BIGINT NOT NULL
);
