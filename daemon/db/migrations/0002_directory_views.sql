-- Schema version 2: which schools each user belongs to, and directory lookups.
-- A user's orgs are SIS ids (or '#<school_id>' for hand-made memberships). A guardian whose orgs
-- name only the district (or nothing) belongs to the schools of its students.
CREATE VIEW user_direct_schools AS
SELECT DISTINCT u.user_id, s.school_id
FROM (SELECT user_id, trim(unnest(string_split(org_sis_ids, ','))) AS org FROM users
      WHERE org_sis_ids IS NOT NULL) u
JOIN school_sis_ids m ON m.sis_id = u.org
JOIN schools s ON s.school_id = m.school_id AND s.org_type <> 'district'
UNION
SELECT u.user_id, TRY_CAST(substr(u.org, 2) AS BIGINT)
FROM (SELECT user_id, trim(unnest(string_split(org_sis_ids, ','))) AS org FROM users
      WHERE org_sis_ids IS NOT NULL) u
WHERE u.org LIKE '#%';

CREATE VIEW user_schools AS
SELECT user_id, school_id FROM user_direct_schools
UNION
SELECT l.guardian_id, d.school_id
FROM guardian_links l JOIN user_direct_schools d ON d.user_id = l.student_id
WHERE l.status = 'active'
  AND l.guardian_id NOT IN (SELECT user_id FROM user_direct_schools);

