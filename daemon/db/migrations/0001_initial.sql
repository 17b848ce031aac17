-- Roster Sync schema, version 1: the directory, the runs and their history.
-- Large tables carry no PRIMARY KEY/UNIQUE constraints: DuckDB's index maintenance would dominate
-- bulk loads of millions of rows. Uniqueness of ids is guaranteed by the planner (max + row_number)
-- and checked by `roster-sync check`.

CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO meta VALUES ('directory_version', '0');

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL,
    updated_at TIMESTAMP,
    updated_by VARCHAR
);

-- ---------------------------------------------------------------- the directory
CREATE TABLE schools (
    school_id BIGINT NOT NULL,
    sis_id VARCHAR,                 -- the SIS id the record follows (NULL when hand-made)
    org_type VARCHAR NOT NULL,      -- school | district | department | local | state | national
    name VARCHAR,
    identifier VARCHAR,
    parent_sis_id VARCHAR,
    status VARCHAR NOT NULL,        -- active | archived
    origin VARCHAR NOT NULL,        -- sync | hand
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    created_at TIMESTAMP, updated_at TIMESTAMP, archived_at TIMESTAMP,
    source_file VARCHAR, source_line INTEGER
);
-- A directory school may answer to several SIS ids (feed schools merged into one).
CREATE TABLE school_sis_ids (
    sis_id VARCHAR NOT NULL,
    school_id BIGINT NOT NULL,
    added_at TIMESTAMP,
    added_by VARCHAR
);

CREATE TABLE users (
    user_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,          -- student | staff | guardian
    role VARCHAR,                   -- the feed's role: student, teacher, aide, parent, ...
    sis_id VARCHAR,                 -- OneRoster sourcedId (NULL when hand-made)
    identifier VARCHAR,             -- student or staff number
    username VARCHAR,
    given_name VARCHAR,
    family_name VARCHAR,
    middle_name VARCHAR,
    preferred_given_name VARCHAR,
    email VARCHAR,
    mobile_phone VARCHAR,           -- logs in and receives messages
    home_phone VARCHAR,             -- informational only
    language VARCHAR,
    grades VARCHAR,
    birth_date VARCHAR,
    org_sis_ids VARCHAR,            -- sorted, comma separated SIS ids of the user's orgs
    enabled BOOLEAN,
    status VARCHAR NOT NULL,        -- active | archived | merged
    origin VARCHAR NOT NULL,        -- sync | hand
    merged_into BIGINT,             -- survivor of a merge (status = merged)
    account_active BOOLEAN NOT NULL DEFAULT false,
    contacts_edited BOOLEAN NOT NULL DEFAULT false,
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    created_at TIMESTAMP, updated_at TIMESTAMP, archived_at TIMESTAMP,
    source_file VARCHAR, source_line INTEGER
);

CREATE TABLE classrooms (
    classroom_id BIGINT NOT NULL,
    sis_id VARCHAR,
    school_id BIGINT,
    name VARCHAR,
    name_locked BOOLEAN NOT NULL DEFAULT false,   -- renamed by hand: the sync keeps the name
    class_code VARCHAR,
    class_type VARCHAR,
    grades VARCHAR,
    subjects VARCHAR,
    course_sis_id VARCHAR,
    term_sis_ids VARCHAR,
    periods VARCHAR,
    location VARCHAR,
    status VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    created_at TIMESTAMP, updated_at TIMESTAMP, archived_at TIMESTAMP,
    source_file VARCHAR, source_line INTEGER
);

CREATE TABLE enrollments (
    enrollment_id BIGINT NOT NULL,
    classroom_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    role VARCHAR NOT NULL,          -- student | teacher | administrator | proctor
    sis_id VARCHAR,
    is_primary BOOLEAN,
    begin_date VARCHAR,
    end_date VARCHAR,
    status VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    created_at TIMESTAMP, updated_at TIMESTAMP, archived_at TIMESTAMP,
    source_file VARCHAR, source_line INTEGER
);

CREATE TABLE guardian_links (
    link_id BIGINT NOT NULL,
    student_id BIGINT NOT NULL,
    guardian_id BIGINT NOT NULL,
    relationship VARCHAR,
    status VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    created_at TIMESTAMP, updated_at TIMESTAMP, archived_at TIMESTAMP,
    source_file VARCHAR, source_line INTEGER
);

CREATE TABLE student_attributes (
    attribute_id BIGINT NOT NULL,
    student_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    value VARCHAR,
    status VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    created_at TIMESTAMP, updated_at TIMESTAMP, archived_at TIMESTAMP,
    source_file VARCHAR, source_line INTEGER
);

-- ---------------------------------------------------------------- runs and history
CREATE SEQUENCE run_ids START 1;
CREATE TABLE runs (
    run_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    source_kind VARCHAR NOT NULL,   -- folder | zip | sftp
    status VARCHAR NOT NULL,        -- loading | planned | held | applied | rejected | failed | superseded
    created_at TIMESTAMP NOT NULL,
    planned_at TIMESTAMP,
    decided_at TIMESTAMP,
    created_by VARCHAR,
    decided_by VARCHAR,
    override_by VARCHAR,
    base_version BIGINT,            -- directory version the plan was made against
    applied_version BIGINT,
    content_hash VARCHAR,
    oneroster_version VARCHAR,
    settings_json VARCHAR,
    hold_reasons VARCHAR[],
    summary_json VARCHAR,
    timings_json VARCHAR,
    error VARCHAR,
    staging_kept BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE run_files (
    run_id BIGINT NOT NULL,
    file_name VARCHAR NOT NULL,
    entity VARCHAR,                 -- users, classes, ... or NULL when ignored
    mode VARCHAR,                   -- bulk | delta | absent
    present BOOLEAN NOT NULL,
    sha256 VARCHAR,
    size_bytes BIGINT,
    encoding VARCHAR,
    rows BIGINT,
    success BIGINT,
    warning BIGINT,
    error BIGINT,
    note VARCHAR
);

-- Results that are not SUCCESS; a row with no entry here succeeded.
CREATE TABLE row_issues (
    run_id BIGINT NOT NULL,
    file_name VARCHAR NOT NULL,
    line BIGINT,
    sourced_id VARCHAR,
    severity VARCHAR NOT NULL,      -- ERROR | WARNING
    column_name VARCHAR,
    rule VARCHAR NOT NULL,
    message VARCHAR NOT NULL
);

CREATE TABLE changes (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,            -- order within the run, for paging
    kind VARCHAR NOT NULL,          -- schools | classrooms | students | staff | guardians | enrollments | guardian_links | student_attributes
    op VARCHAR NOT NULL,            -- create | update | archive | unarchive
    record_id BIGINT NOT NULL,
    sis_id VARCHAR,
    label VARCHAR,
    fields STRUCT(field VARCHAR, old VARCHAR, new VARCHAR)[],
    source_file VARCHAR,
    source_line BIGINT,
    note VARCHAR
);

CREATE SEQUENCE conflict_ids START 1;
CREATE TABLE conflicts (
    conflict_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,
    record_kind VARCHAR,
    record_id BIGINT,
    other_record_id BIGINT,
    sis_id VARCHAR,
    label VARCHAR,
    field VARCHAR,
    feed_value VARCHAR,
    directory_value VARCHAR,
    message VARCHAR NOT NULL,
    suggestion VARCHAR NOT NULL,    -- take | keep | ignore
    blocking BOOLEAN NOT NULL,
    decision VARCHAR,               -- take | keep | ignore
    decided_by VARCHAR,
    decided_at TIMESTAMP,
    conflict_key VARCHAR,           -- the same question asked again has the same key
    source_file VARCHAR,
    source_line BIGINT
);

CREATE SEQUENCE audit_ids START 1;
CREATE TABLE audit_log (
    audit_id BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target_kind VARCHAR,
    target_id BIGINT,
    details VARCHAR
);
