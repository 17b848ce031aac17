-- Schema version 9: operations a district relies on (issue 17).
-- Withheld archives: a run over the deletion threshold (threshold_action = withhold_archives), or
-- any run while archive_mode = additions_only, applies everything but its archives; those wait
-- here as one decision (approve with a reason, or drop), taken after the run is applied.
ALTER TABLE runs ADD COLUMN withheld_why VARCHAR;          -- threshold | additions_only | NULL
ALTER TABLE runs ADD COLUMN withheld_decision VARCHAR;     -- approved | dropped | NULL (waiting)
ALTER TABLE runs ADD COLUMN withheld_decided_by VARCHAR;
ALTER TABLE runs ADD COLUMN withheld_decided_at TIMESTAMP;
ALTER TABLE runs ADD COLUMN withheld_reason VARCHAR;
-- A run that reverts another names it; a school-scoped run names its schools' SIS ids.
ALTER TABLE runs ADD COLUMN reverted_run BIGINT;
ALTER TABLE runs ADD COLUMN scope VARCHAR[];

CREATE TABLE withheld_archives (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,            -- order within the run, for paging
    kind VARCHAR NOT NULL,          -- a change kind (students, enrollments, ...)
    table_name VARCHAR NOT NULL,    -- the directory table of record_id
    record_id BIGINT NOT NULL,
    sis_id VARCHAR,
    label VARCHAR,
    source_file VARCHAR,
    source_line BIGINT,
    note VARCHAR,                   -- why the plan would archive it (no longer in the feed, ...)
    outcome VARCHAR,                -- archived | kept | NULL while waiting or dropped
    outcome_note VARCHAR            -- why an approved archive was not done (re-created since, ...)
);
