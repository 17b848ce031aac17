-- Schema version 5: the daemon's history of drops, so that each drop is decided once and the
-- decision can be shown (`roster-sync status`) and audited: when it was first seen and complete,
-- what ordered it, and why it was planned, superseded or skipped.
CREATE SEQUENCE drop_ids START 1;
CREATE TABLE drops (
    drop_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,        -- inbox | sftp: where the daemon found it
    name VARCHAR NOT NULL,          -- folder or ZIP name; '(inbox root)' / '(loose files)'
    first_seen_at TIMESTAMP,        -- the server's local time
    complete_at TIMESTAMP,          -- when it passed the completeness rules
    export_at TIMESTAMP,            -- the export time that orders it among its source's drops
    ordered_by VARCHAR,             -- name | manifest | first seen
    status VARCHAR NOT NULL,        -- queued | planning | planned | failed | skipped | superseded | seen
    reason VARCHAR,                 -- why, in one line
    run_id BIGINT,
    queued_as VARCHAR,              -- its folder in the daemon's queue while it waits to be planned
    signature VARCHAR,              -- its files (name, size, mtime) when taken, to tell a later change
    decided_at TIMESTAMP,
    changed_at TIMESTAMP,           -- when a change on the server after it was taken was reported
    change_note VARCHAR,
    change_signature VARCHAR        -- the files as last reported changed (reported once each)
);
-- The daemon keeps a few facts per source here, e.g. when the first SFTP mirror was done.
CREATE TABLE drop_sources (
    source VARCHAR PRIMARY KEY,
    first_mirror_at TIMESTAMP
);
