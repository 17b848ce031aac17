-- Schema version 18: a user's org that a school answers to as a SIS id is that school, even when
-- it starts with '#' (a SIS may send an org '#2'); only another entry '#<whole number>' names a
-- school by its directory id, as a person chose it by hand. Before, any '#N' was read as school
-- N (a SIS org '#2' put its people in school 2 as well) and '#abc' gave them a NULL school.
-- The rule is daemon/directory/orgs.py's (direct_schools), spelled here once more for the view.
CREATE OR REPLACE VIEW user_direct_schools AS
WITH orgs AS (
    SELECT user_id, trim(unnest(string_split(org_sis_ids, ','))) AS org FROM users
    WHERE org_sis_ids IS NOT NULL
)
SELECT o.user_id, s.school_id FROM orgs o
JOIN school_sis_ids m ON m.sis_id = o.org
JOIN schools s ON s.school_id = m.school_id AND s.org_type <> 'district'
UNION
SELECT o.user_id, TRY_CAST(substr(o.org, 2) AS BIGINT) FROM orgs o
WHERE (o.org LIKE '#%' AND regexp_full_match(o.org, '#[0-9]{1,18}')
       AND NOT list_contains((SELECT coalesce(list(sis_id), CAST([] AS VARCHAR[])) AS hash_sis_ids
                              FROM school_sis_ids WHERE starts_with(sis_id, '#')), o.org));
