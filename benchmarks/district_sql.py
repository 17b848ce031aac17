"""SQL building blocks for the synthetic-district generator (see generate_district.py).

Everything here returns SQL text; the generator runs it in DuckDB. No Python touches rows.

Layout at N students (i = 1..N are day-1 students, N+1..N+A are day-2 newcomers):
- S = max(1, N // 500) schools; student i belongs to school ((i-1)*S)//N + 1 and has a local
  index j inside it (grades KG..12 are contiguous blocks of j).
- Each school has kc = round(n_s / 28) classes per period and 7 periods (0 = homeroom, 1..6
  scheduled). In period p a student sits in class k = rank_p(j) * kc // n_s, where rank_0 is j and
  rank_p is an affine permutation of 0..n_s-1 (multiplier a prime > 1000 > n_s: a bijection).
- tc = ceil(7 kc / 6) teachers per school; class c = p*kc + k is taught by local teacher c mod tc
  (never two classes in the same period, six or seven classes each).
- Families: in every block of 80 students, offsets 0..7 are paired with offsets 40..47 (siblings,
  sharing guardians); everyone else is an only child. A family has 1 guardian (1 in 3) or 2, giving
  about 1.5*N guardians.
"""

from __future__ import annotations

FIRST_NAMES = [
    "Aaliyah", "Aiden", "Amara", "Andre", "Ava", "Benjamin", "Camila", "Carlos", "Chloe", "Daniel",
    "Deja", "Diego", "Elena", "Elijah", "Emma", "Ethan", "Fatima", "Gabriel", "Grace", "Hana",
    "Hiroshi", "Isabella", "Isaiah", "Jamal", "Jasmine", "Javier", "Jaylen", "Kai", "Keisha", "Leah",
    "Liam", "Lucas", "Maria", "Mason", "Maya", "Mei", "Mia", "Mohammed", "Nadia", "Noah",
    "Nora", "Olivia", "Omar", "Priya", "Rafael", "Riley", "Rosa", "Samuel", "Sofia", "Sophia",
    "Tariq", "Theo", "Valentina", "Wei", "William", "Xavier", "Yara", "Yusuf", "Zara", "Zoe",
    "Aisha", "Bruno", "Chen", "Dmitri",
]  # fmt: skip

LAST_NAMES = [
    "Adams", "Ahmed", "Alvarez", "Anderson", "Bailey", "Brown", "Campbell", "Chen", "Clark", "Cruz",
    "Davis", "Diaz", "Edwards", "Evans", "Flores", "Garcia", "Gomez", "Gonzalez", "Green", "Hall",
    "Harris", "Hernandez", "Hill", "Huang", "Jackson", "Johnson", "Jones", "Kim", "King", "Lee",
    "Lewis", "Lopez", "Martin", "Martinez", "Miller", "Mitchell", "Moore", "Morales", "Nguyen", "Nelson",
    "O'Brien", "Ortiz", "Patel", "Perez", "Phillips", "Ramirez", "Reyes", "Rivera", "Roberts", "Robinson",
    "Rodriguez", "Sanchez", "Scott", "Singh", "Smith", "Taylor", "Thomas", "Thompson", "Torres", "Walker",
    "White", "Williams", "Wilson", "Young",
]  # fmt: skip

SUBJECTS = [
    ("Homeroom", "HR"), ("English Language Arts", "ELA"), ("Mathematics", "MATH"),
    ("Science", "SCI"), ("Social Studies", "SOC"), ("Art", "ART"), ("Music", "MUS"),
    ("Physical Education", "PE"), ("Spanish", "SPAN"), ("French", "FREN"),
    ("Computer Science", "CS"), ("Health", "HLTH"), ("Reading", "READ"), ("Writing", "WRIT"),
    ("Biology", "BIO"), ("Chemistry", "CHEM"), ("Physics", "PHYS"), ("World History", "HIST"),
    ("Geography", "GEO"), ("Drama", "DRAM"),
]  # fmt: skip
COURSES_PER_SCHOOL = len(SUBJECTS)
GRADES = ["KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
PERIOD_MULTIPLIERS = [1, 1009, 1013, 1019, 1021, 1031, 1033]  # primes > max school size (999)
CLASS_SIZE = 28
STUDENTS_PER_SCHOOL = 500

DLM_DAY1 = "2026-11-01T06:00:00.000Z"
DLM_DAY2 = "2026-11-02T06:00:00.000Z"


def _cols(names: str) -> list[str]:
    return names.split(",")


COLUMNS: dict[str, list[str]] = {
    "orgs": _cols("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"),
    "academicSessions": _cols(
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear"
    ),
    "courses": _cols(
        "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
        "orgSourcedId,subjects,subjectCodes"
    ),
    "classes": _cols(
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,"
        "location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
    ),
    "users": _cols(
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
        "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password"
    ),
    "enrollments": _cols(
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
        "primary,beginDate,endDate"
    ),
    "demographics": _cols(
        "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
        "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,"
        "demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,"
        "stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus"
    ),
}
ABSENT_FILES = ["lineItems", "results", "categories", "resources", "classResources", "courseResources"]  # fmt: skip


def sql_list(values: list[str] | list[int]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _lit(v: str | int) -> str:
    return str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"


def select_list(table: str, exprs: dict[str, str]) -> str:
    """SELECT list in the file's column order; columns without an expression are NULL (empty)."""
    unknown = set(exprs) - set(COLUMNS[table])
    assert not unknown, f"unknown columns for {table}: {unknown}"
    return ",\n  ".join(f'{exprs.get(c, "NULL::VARCHAR")} AS "{c}"' for c in COLUMNS[table])


def macros(seed: int) -> str:
    return f"""
CREATE MACRO h(a, b) AS hash(a, b, {int(seed)}::BIGINT);
CREATE MACRO pick(lst, a, b) AS lst[(h(a, b) % len(lst))::BIGINT + 1];
CREATE MACRO sid(prefix, n, w) AS prefix || lpad(n::VARCHAR, w, '0');
CREATE MACRO first_names() AS {sql_list(FIRST_NAMES)};
CREATE MACRO last_names() AS {sql_list(LAST_NAMES)};
CREATE MACRO grade_codes() AS {sql_list(GRADES)};
CREATE MACRO subj_titles() AS {sql_list([t for t, _ in SUBJECTS])};
CREATE MACRO subj_codes() AS {sql_list([c for _, c in SUBJECTS])};
CREATE MACRO period_mult() AS {sql_list(PERIOD_MULTIPLIERS)};
"""


def school_table(n: int) -> str:
    s_count = max(1, n // STUDENTS_PER_SCHOOL)
    return f"""
CREATE TABLE school AS
WITH b AS (
  SELECT s::BIGINT AS s,
         ((s - 1) * {n} + {s_count} - 1) // {s_count} AS first0,
         (s * {n} + {s_count} - 1) // {s_count} - ((s - 1) * {n} + {s_count} - 1) // {s_count} AS n_s
  FROM range(1, {s_count} + 1) t(s)
), kk AS (
  SELECT *, greatest(1, round(n_s / {CLASS_SIZE}.0))::BIGINT AS kc FROM b
), t AS (
  SELECT *, ((7 * kc + 5) // 6)::BIGINT AS tc FROM kk
)
SELECT *, (sum(7 * kc) OVER (ORDER BY s) - 7 * kc)::BIGINT AS cls_base,
          (sum(tc) OVER (ORDER BY s) - tc)::BIGINT AS tch_base
FROM t ORDER BY s;
"""


def student_tables(n: int, added: int, leavers: int, changed: int) -> str:
    """stu0 (all day-1 and new students), fam (families with guardian numbering), stu (joined)."""
    s_count = max(1, n // STUDENTS_PER_SCHOOL)
    return f"""
CREATE TABLE stu0 AS
WITH base AS (
  SELECT i::BIGINT AS i, i > {n} AS is_new,
         CASE WHEN i <= {n} THEN ((i - 1) * {s_count}) // {n} + 1
              ELSE h(i, 'new-school') % {s_count} + 1 END AS s
  FROM range(1, {n + added} + 1) t(i)
), ranked AS (
  SELECT *, CASE WHEN is_new THEN NULL
            ELSE row_number() OVER (PARTITION BY is_new ORDER BY h(i, 'pick'), i) END AS pk
  FROM base
)
SELECT r.i, r.is_new, r.s, sc.n_s,
  (CASE WHEN r.is_new THEN h(r.i, 'new-j') % sc.n_s ELSE r.i - 1 - sc.first0 END)::BIGINT AS j,
  CASE WHEN r.is_new THEN r.i
       WHEN (r.i - 1) % 80 BETWEEN 40 AND 47 THEN r.i - 40 ELSE r.i END AS head,
  CASE WHEN NOT r.is_new AND (r.i - 1) % 80 < 8 AND r.i + 40 <= {n} THEN r.i + 40 END AS sib,
  CASE WHEN r.is_new THEN 'new'
       WHEN r.pk <= {leavers} THEN 'leave'
       WHEN r.pk <= {leavers + changed} THEN
         ['chg_family', 'chg_email', 'chg_grade'][((r.pk - {leavers} - 1) % 3)::BIGINT + 1]
       ELSE 'keep' END AS fate
FROM ranked r JOIN school sc USING (s)
ORDER BY r.i;

CREATE TABLE fam AS
WITH heads AS (
  SELECT a.i AS head, a.s AS head_s, a.is_new, a.fate AS head_fate,
         a.sib, b.s AS sib_s, b.fate AS sib_fate,
         CASE WHEN a.is_new OR h(a.i, 'guardians') % 3 = 0 THEN 1 ELSE 2 END AS ng
  FROM stu0 a LEFT JOIN stu0 b ON b.i = a.sib
  WHERE a.head = a.i
)
SELECT *, (sum(ng) OVER (ORDER BY is_new, head) - ng)::BIGINT AS g_base FROM heads ORDER BY head;

CREATE TABLE stu AS
SELECT st.*, (st.j * 13 // st.n_s)::BIGINT AS g, f.ng, f.g_base, sc.kc, sc.cls_base
FROM stu0 st JOIN fam f ON f.head = st.head JOIN school sc ON sc.s = st.s ORDER BY st.i;
"""


def class_table() -> str:
    return """
CREATE TABLE cls AS
WITH x AS (
  SELECT s, n_s, kc, tc, cls_base, tch_base, unnest(range(7 * kc)) AS c FROM school
), y AS (
  SELECT *, c // kc AS p, c % kc AS k, cls_base + c + 1 AS c_no, tch_base + c % tc + 1 AS t_no,
         c % tc AS t_local FROM x
)
SELECT *, (CASE WHEN p = 0 THEN 1 ELSE 2 + h(c_no, 'course') % 19 END)::BIGINT AS subj,
       ((k * n_s + kc - 1) // kc) * 13 // n_s AS hr_grade
FROM y ORDER BY c_no;

CREATE TABLE tch AS
SELECT s, tch_base + unnest(range(tc)) + 1 AS t_no FROM school ORDER BY t_no;
"""


def ids(w: dict[str, int]) -> dict[str, str]:
    """SQL expressions (as format templates) for formatted sourcedIds."""
    return {
        "stu": f"sid('stu-', {{}}, {w['stu']})",
        "gdn": f"sid('gdn-', {{}}, {w['gdn']})",
        "tch": f"sid('tch-', {{}}, {w['tch']})",
        "sch": f"sid('sch-', {{}}, {w['sch']})",
        "cls": f"sid('cls-', {{}}, {w['cls']})",
        "crs": f"sid('crs-', {{}}, {w['crs']})",
    }


def static_files(w: dict[str, int]) -> dict[str, str]:
    """Queries for the files that are identical on both days."""
    f = ids(w)
    dlm = f"'{DLM_DAY1}'"
    common = {"status": "'active'", "dateLastModified": dlm}
    orgs_dist = select_list(
        "orgs",
        {"sourcedId": "'dist-1'", **common, "name": "'Synthetic Unified School District'",
         "type": "'district'", "identifier": "'D0001'"},
    )  # fmt: skip
    orgs_sch = select_list(
        "orgs",
        {"sourcedId": f.get("sch").format("s"), **common,
         "name": "pick(last_names(), s, 'school-name') || ' School ' || s",
         "type": "'school'", "identifier": "'S' || lpad(s::VARCHAR, 5, '0')",
         "parentSourcedId": "'dist-1'"},
    )  # fmt: skip
    sessions = select_list(
        "academicSessions",
        {"sourcedId": "'term-2026'", **common, "title": "'2026-2027 School Year'",
         "type": "'schoolYear'", "startDate": "'2026-08-15'", "endDate": "'2027-06-15'",
         "schoolYear": "'2027'"},
    )  # fmt: skip
    course_no = f"(s - 1) * {COURSES_PER_SCHOOL} + x"
    courses = select_list(
        "courses",
        {"sourcedId": f["crs"].format(course_no), **common,
         "schoolYearSourcedId": "'term-2026'", "title": "subj_titles()[x]",
         "courseCode": "subj_codes()[x] || '-' || s", "orgSourcedId": f["sch"].format("s"),
         "subjects": "subj_titles()[x]"},
    )  # fmt: skip
    classes = select_list(
        "classes",
        {"sourcedId": f["cls"].format("c_no"), **common,
         "title": "CASE WHEN p = 0 THEN 'Homeroom ' || grade_codes()[hr_grade + 1] || '-' || (k + 1)"
                  " ELSE subj_titles()[subj] || ' P' || p || ' Sec ' || (k + 1) END",
         "grades": "CASE WHEN p = 0 THEN grade_codes()[hr_grade + 1] END",
         "courseSourcedId": f["crs"].format(f"(s - 1) * {COURSES_PER_SCHOOL} + subj"),
         "classCode": "subj_codes()[subj] || '-' || p || '-' || (k + 1)",
         "classType": "CASE WHEN p = 0 THEN 'homeroom' ELSE 'scheduled' END",
         "location": "'Room ' || (100 + t_local)", "schoolSourcedId": f["sch"].format("s"),
         "termSourcedIds": "'term-2026'",
         "subjects": "CASE WHEN p > 0 THEN subj_titles()[subj] END",
         "periods": "CASE WHEN p = 0 THEN 'HR' ELSE p::VARCHAR END"},
    )  # fmt: skip
    return {
        "orgs": f"SELECT {orgs_dist} UNION ALL (SELECT {orgs_sch} FROM school ORDER BY s)",
        "academicSessions": f"SELECT {sessions}",
        "courses": f"SELECT {courses} FROM school, range(1, {COURSES_PER_SCHOOL} + 1) t(x) "
        "ORDER BY s, x",
        "classes": f"SELECT {classes} FROM cls ORDER BY c_no",
    }


def present(day: int, alias: str = "st") -> str:
    """Predicate: the student row is present in the given day's drop."""
    if day == 1:
        return f"NOT {alias}.is_new"
    return f"{alias}.fate <> 'leave'"


def day_files(day: int, w: dict[str, int]) -> dict[str, list[str]]:
    """Queries for users, enrollments and demographics of one day: parts to append in order.

    No ORDER BY: the sources are stored in key order and every part is an order-preserving scan
    (with preserve_insertion_order), which is deterministic and saves sorting wide rows.
    """
    f = ids(w)
    dlm1, dlm2 = f"'{DLM_DAY1}'", f"'{DLM_DAY2}'"
    dlm = f"CASE WHEN is_new THEN {dlm2} ELSE {dlm1} END"
    chg = (lambda kind: f"fate = 'chg_{kind}'") if day == 2 else (lambda kind: "false")
    family = "pick(last_names(), head, 'family')"
    n_last = len(LAST_NAMES)
    alt_family = f"last_names()[((h(head, 'family') % {n_last} + 1 + h(i, 'family-2') % {n_last - 1}) % {n_last})::BIGINT + 1]"
    given = "pick(first_names(), i, 'given')"
    uname = f"lower(left({given}, 1) || replace({family}, '''', '')) || i"
    gids = (
        f"{f['gdn'].format('g_base + 1')} || CASE WHEN ng = 2 THEN ',' || "
        f"{f['gdn'].format('g_base + 2')} ELSE '' END"
    )
    students = select_list(
        "users",
        {"sourcedId": f["stu"].format("i"), "status": "'active'", "dateLastModified": dlm,
         "enabledUser": "'true'", "orgSourcedIds": f["sch"].format("s"), "role": "'student'",
         "username": uname, "givenName": given,
         "familyName": f"CASE WHEN {chg('family')} THEN {alt_family} ELSE {family} END",
         "middleName": "CASE WHEN h(i, 'middle') % 2 = 0 THEN pick(first_names(), i, 'mid') END",
         "identifier": "(300000000 + i)::VARCHAR",
         "email": f"CASE WHEN {chg('email')} THEN {uname} || '@k12.example.org' "
                  f"ELSE {uname} || '@students.example.org' END",
         "agentSourcedIds": gids,
         "grades": f"grade_codes()[CASE WHEN {chg('grade')} THEN "
                   "(CASE WHEN g = 12 THEN 11 ELSE g + 1 END) ELSE g END + 1]"},
    )  # fmt: skip
    t_given, t_family = "pick(first_names(), t_no, 't-given')", "pick(last_names(), t_no, 't-fam')"
    t_uname = f"lower({t_given} || '.' || replace({t_family}, '''', '')) || t_no"
    teachers = select_list(
        "users",
        {"sourcedId": f["tch"].format("t_no"), "status": "'active'", "dateLastModified": dlm1,
         "enabledUser": "'true'", "orgSourcedIds": f["sch"].format("s"), "role": "'teacher'",
         "username": t_uname, "givenName": t_given, "familyName": t_family,
         "identifier": "'E' || lpad(t_no::VARCHAR, 6, '0')",
         "email": f"{t_uname} || '@staff.example.org'",
         "phone": "'555-' || lpad((h(t_no, 'phone') % 10000000)::VARCHAR, 7, '0')"},
    )  # fmt: skip
    # Guardians: a family's children present on this day (head and sibling), their schools.
    if day == 1:
        kid1, kid2 = "CASE WHEN NOT is_new THEN head END", "sib"
    else:
        kid1 = "CASE WHEN head_fate <> 'leave' THEN head END"
        kid2 = "CASE WHEN sib_fate <> 'leave' THEN sib END"
    s1 = "CASE WHEN kid1 IS NOT NULL THEN head_s END"
    s2 = "CASE WHEN kid2 IS NOT NULL THEN sib_s END"
    g_given = "pick(first_names(), g_no, 'g-given')"
    g_family = (
        f"CASE WHEN h(g_no, 'g-fam') % 5 = 0 THEN pick(last_names(), g_no, 'g-fam2') "
        f"ELSE {family} END"
    )
    g_uname = f"lower({g_given} || '.' || replace({g_family}, '''', '')) || g_no"
    guardians = select_list(
        "users",
        {"sourcedId": f["gdn"].format("g_no"), "status": "'active'", "dateLastModified": dlm,
         "enabledUser": "'true'",
         "orgSourcedIds": f"concat_ws(',', {f['sch'].format('least(s1, s2)')}, "
                          f"CASE WHEN s1 <> s2 THEN {f['sch'].format('greatest(s1, s2)')} END)",
         "role": "CASE WHEN h(g_no, 'g-role') % 5 = 0 THEN 'guardian' ELSE 'parent' END",
         "username": g_uname, "givenName": g_given, "familyName": g_family,
         "email": f"{g_uname} || '@example.net'",
         "sms": "'555-' || lpad((h(g_no, 'sms') % 10000000)::VARCHAR, 7, '0')",
         "agentSourcedIds": f"concat_ws(',', {f['stu'].format('kid1')}, {f['stu'].format('kid2')})"},
    )  # fmt: skip
    # unnest() in a select list keeps the source order (a cross join with range() would not).
    gdn_src = f"""(
      SELECT *, {s1} AS s1, {s2} AS s2 FROM (
        SELECT *, g_base + x AS g_no, {kid1} AS kid1, {kid2} AS kid2
        FROM (SELECT *, unnest(range(1, ng + 1)) AS x FROM fam))
      WHERE kid1 IS NOT NULL OR kid2 IS NOT NULL)"""
    users = [
        f"SELECT {students} FROM stu st WHERE {present(day)}",
        f"SELECT {teachers} FROM tch",
        f"SELECT {guardians} FROM {gdn_src}",
    ]
    rank = "CASE WHEN p = 0 THEN j ELSE (j * period_mult()[p + 1] + h(s, p) % n_s) % n_s END"
    c_no = f"cls_base + p * kc + ({rank}) * kc // n_s + 1"
    enr_common = {"status": "'active'", "schoolSourcedId": f["sch"].format("s")}
    stu_enr = select_list(
        "enrollments",
        {"sourcedId": f"{f['stu'].format('i').replace('stu-', 'enr-')} || '-' || p",
         **enr_common, "dateLastModified": dlm, "classSourcedId": f["cls"].format(c_no),
         "userSourcedId": f["stu"].format("i"), "role": "'student'", "primary": "'false'"},
    )  # fmt: skip
    tch_enr = select_list(
        "enrollments",
        {"sourcedId": f"{f['cls'].format('c_no').replace('cls-', 'enr-t')}",
         **enr_common, "dateLastModified": dlm1, "classSourcedId": f["cls"].format("c_no"),
         "userSourcedId": f["tch"].format("t_no"), "role": "'teacher'", "primary": "'true'"},
    )  # fmt: skip
    enrollments = [
        f"SELECT {stu_enr} FROM (SELECT *, unnest(range(7)) AS p FROM stu st WHERE {present(day)})",
        f"SELECT {tch_enr} FROM cls",
    ]
    birth = "make_date((2020 - g)::BIGINT, 9, 2) + (h(i, 'birth') % 365)::INTEGER"
    demographics = select_list(
        "demographics",
        {"sourcedId": f["stu"].format("i"), "status": "'active'", "dateLastModified": dlm,
         "birthDate": f"strftime({birth}, '%Y-%m-%d')",
         "sex": "CASE WHEN h(i, 'sex') % 2 = 0 THEN 'female' ELSE 'male' END"},
    )  # fmt: skip
    return {
        "users": users,
        "enrollments": enrollments,
        "demographics": [f"SELECT {demographics} FROM stu st WHERE {present(day)}"],
    }


def manifest(files: list[str]) -> str:
    rows = [("manifest.version", "1.0"), ("oneroster.version", "1.1")]
    rows += [(f"file.{name}", "bulk") for name in files]
    rows += [(f"file.{name}", "absent") for name in ABSENT_FILES]
    rows += [("source.systemName", "Synthetic SIS"), ("source.systemCode", "synthetic")]
    values = ", ".join(f"({_lit(k)}, {_lit(v)}, {n})" for n, (k, v) in enumerate(rows))
    return f"SELECT propertyName, value FROM (VALUES {values}) t(propertyName, value, n) ORDER BY n"
