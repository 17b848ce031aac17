-- Schema version 3: duplicate people (candidates, decisions) and merges that can be undone.
-- A candidate pair is stored once, smaller user id on the left. Scanning rewrites open
-- candidates; decisions (merged / rejected / skipped) are kept. A merge never deletes a row: the
-- merged record becomes a tombstone (users.status = 'merged', merged_into = survivor) and every
-- column it changed is listed in merge_moves, so an undo puts back exactly what was there.
-- Ids are max + 1 (the daemon is the single writer), so they are dense and ordered.

CREATE TABLE duplicate_candidates (
    candidate_id BIGINT NOT NULL,
    left_id BIGINT NOT NULL,
    right_id BIGINT NOT NULL,         -- left_id < right_id
    record_kind VARCHAR NOT NULL,     -- student | guardian
    score DOUBLE NOT NULL,            -- 0..1; 0.5 at the default threshold
    points INTEGER NOT NULL,          -- sum of the per-field points
    -- Per field: exact | close | nickname | swapped | day_month_swapped | partial | missing | differ
    evidence STRUCT(
        given_name VARCHAR, family_name VARCHAR, birth_date VARCHAR, grade VARCHAR,
        school VARCHAR, student_number VARCHAR, email VARCHAR, phone VARCHAR,
        guardians VARCHAR, students VARCHAR
    ),
    field_points STRUCT(
        given_name INTEGER, family_name INTEGER, birth_date INTEGER, grade INTEGER,
        school INTEGER, student_number INTEGER, email INTEGER, phone INTEGER,
        guardians INTEGER, students INTEGER
    ),
    status VARCHAR NOT NULL,          -- open | merged | rejected | skipped
    found_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    decided_by VARCHAR,
    decided_at TIMESTAMP,
    merge_id BIGINT
);

-- "Not the same person": the pair is never proposed again.
CREATE TABLE duplicate_rejections (
    left_id BIGINT NOT NULL,
    right_id BIGINT NOT NULL,
    record_kind VARCHAR,
    candidate_id BIGINT,
    rejected_by VARCHAR NOT NULL,
    rejected_at TIMESTAMP NOT NULL
);

CREATE TABLE merges (
    merge_id BIGINT NOT NULL,
    survivor_id BIGINT NOT NULL,
    merged_id BIGINT NOT NULL,
    record_kind VARCHAR NOT NULL,
    candidate_id BIGINT,
    candidate_status VARCHAR,         -- the candidate's status before the merge (restored on undo)
    merged_by VARCHAR NOT NULL,
    merged_at TIMESTAMP NOT NULL,
    undone_at TIMESTAMP,
    undone_by VARCHAR,
    details VARCHAR                   -- JSON: rows moved / archived per table
);

-- Every column a merge changed: undo writes old_value back where the row still holds new_value.
CREATE TABLE merge_moves (
    merge_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    table_name VARCHAR NOT NULL,
    row_id BIGINT NOT NULL,
    column_name VARCHAR NOT NULL,
    old_value VARCHAR,
    new_value VARCHAR
);
