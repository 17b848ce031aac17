-- Schema version 7: what an export needs to be a faithful OneRoster drop.
-- userIds and subjectCodes are kept like every other field the feed decides. Courses and academic
-- sessions are reference data: classes name them, so an export must carry them. They are kept
-- from the last applied drop that had them (never deleted: absent from a bulk file or marked
-- tobedeleted means archived), and make no directory changes of their own.
ALTER TABLE users ADD COLUMN user_ids VARCHAR;
ALTER TABLE classrooms ADD COLUMN subject_codes VARCHAR;

CREATE TABLE courses (
    sis_id VARCHAR NOT NULL,
    title VARCHAR,
    course_code VARCHAR,
    grades VARCHAR,
    org_sis_id VARCHAR,
    subjects VARCHAR,
    subject_codes VARCHAR,
    school_year_sis_id VARCHAR,
    status VARCHAR NOT NULL,        -- active | archived
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    source_file VARCHAR, source_line INTEGER
);

CREATE TABLE academic_sessions (
    sis_id VARCHAR NOT NULL,
    title VARCHAR,
    session_type VARCHAR,           -- as the spec spells it: gradingPeriod, semester, schoolYear, term, ext:...
    start_date VARCHAR,
    end_date VARCHAR,
    parent_sis_id VARCHAR,
    school_year VARCHAR,
    status VARCHAR NOT NULL,
    created_run BIGINT, last_run BIGINT, archived_run BIGINT,
    source_file VARCHAR, source_line INTEGER
);
