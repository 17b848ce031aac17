-- Schema version 15: a 1.2 district's roles (roles.csv rows) are kept as reference data, as
-- courses are (0007). A changes-only roles.csv names one role at a time, and a user's schools
-- are the orgs of all of their roles: ending one of two roles at one school took the school
-- away, because the directory knew only the user's list of schools. Never deleted: a role
-- marked tobedeleted, or missing from a whole roles.csv, is archived.
CREATE TABLE sis_roles (
    sis_id VARCHAR NOT NULL,        -- the role's own sourcedId
    user_sis_id VARCHAR,
    role_type VARCHAR,              -- primary | secondary
    role VARCHAR,
    begin_date VARCHAR,
    end_date VARCHAR,
    org_sis_id VARCHAR,
    status VARCHAR NOT NULL,        -- active | archived
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    source_file VARCHAR, source_line INTEGER
);
