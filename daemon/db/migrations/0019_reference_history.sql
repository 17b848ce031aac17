-- Schema version 19: what a reference row (a course, academic session or role: 0007, 0015) was
-- before a run updated it, so that a revert restores it. A record's changes are kept in
-- `changes`; reference data made none, so a revert left the courses, sessions and roles of the
-- run it undid as that run made them (and a later changes-only roles.csv was read against roles
-- the revert had taken back). A row a run created or archived needs none: created_run and
-- archived_run say so. Never deleted, as changes.
CREATE TABLE reference_history (
    run_id BIGINT NOT NULL,         -- the run that updated the row (a drop's, or a revert)
    table_name VARCHAR NOT NULL,    -- courses | academic_sessions | sis_roles
    sis_id VARCHAR NOT NULL,
    op VARCHAR NOT NULL,            -- update (a drop's) | restore (a revert's)
    before VARCHAR NOT NULL         -- JSON of the row's columns, status and source line before
);
