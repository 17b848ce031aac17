-- Schema version 19: what each applied run changed in the reference data (courses, academic
-- sessions, roles: 0007, 0015), row by row, as it was before and as the run left it. A record's
-- changes are kept in `changes`; reference data made none, so a revert left the courses,
-- sessions and roles of the run it undid as that run made them (and a later changes-only
-- roles.csv was read against roles the revert had taken back). Never deleted, as changes.
CREATE TABLE reference_history (
    run_id BIGINT NOT NULL,         -- the run that wrote the row (a drop's or a revert)
    table_name VARCHAR NOT NULL,    -- courses | academic_sessions | sis_roles
    sis_id VARCHAR NOT NULL,
    op VARCHAR NOT NULL,            -- create | update | archive | restore (a revert's)
    before VARCHAR,                 -- JSON of the row's columns and status before; NULL: created
    after VARCHAR                   -- JSON of the same as the run left them
);
