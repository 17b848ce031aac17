-- Schema version 13: what the last duplicate scan covered, so the scan after an applied run
-- compares only the people who changed since (an incremental scan). One row: the format of the
-- scan's cache (a hash of the scoring code and nickname list: a new version scans in full), the
-- threshold, when the last scan and the last full scan ran, and how many people the last scan
-- rebuilt. The cache itself (duplicate_scan_people, _keys, _names, _scored, _extra: the
-- normalised people, their blocking keys, name frequencies, scored pairs and guardians' child
-- clusters) is written by each full scan in the shape the code gives it, and kept up to date by
-- incremental scans; it holds nothing that cannot be rebuilt from the directory.
CREATE TABLE duplicate_scan_state (
    format VARCHAR NOT NULL,
    threshold INTEGER NOT NULL,
    scanned_at TIMESTAMP NOT NULL,
    full_scan_at TIMESTAMP NOT NULL,
    rebuilt BIGINT NOT NULL
);
