"""Scoring candidate pairs: a verdict per field, integer points per verdict, a twin guard.

Fellegi-Sunter in spirit: each field's points are roughly log2(m/u) (how much likelier that
agreement is between two records of one child than between two children); agreement adds,
disagreement subtracts, a missing value counts 0. Exact agreement on a given or family name is
worth more when the name is rare. The verdicts are kept as the evidence people see.

Tuned on benchmark data built with a different seed from the one reported (docs/duplicates.md).
"""

from __future__ import annotations

from collections.abc import Callable

from daemon.db import Database, sql_ident, sql_literal
from daemon.duplicates.nicknames import NICK_TABLE
from daemon.duplicates.people import PAIRS, PEOPLE, contact

SCORED = "dup_scored"
FIELDS = (
    "given_name",
    "family_name",
    "birth_date",
    "grade",
    "school",
    "student_number",
    "email",
    "phone",
    "guardians",
    "students",
    "user_ids",
    "lifecycle",
)
VERDICTS = (
    "exact",
    "close",
    "nickname",
    "swapped",
    "day_month_swapped",
    "inconsistent",
    "one_letter",
    "partial",
    "handover",
    "coexist",
    "apart",
    "missing",
    "differ",
)
# The JSON's coarse words for scripts: agree / partial / differ / missing.
COARSE = {
    "exact": "agree",
    "close": "partial",
    "nickname": "partial",
    "swapped": "partial",
    "day_month_swapped": "partial",
    "one_letter": "partial",
    "inconsistent": "missing",  # birth dates: one of them cannot be right (see _birth_date_verdict)
    "partial": "partial",
    "handover": "agree",  # lifecycle: one left the feed as the other arrived (a re-keyed record)
    "coexist": "differ",  # lifecycle: both in the feed at once (how twins look)
    "apart": "missing",
    "missing": "missing",
    "differ": "differ",
}
# Lifecycle: the other record arrived at most this many applied runs before or after one left.
HANDOVER_RUNS = 2

# A pair is proposed at THRESHOLD points or more (score 0.5); every 2 points double the odds.
THRESHOLD = 12
NAME_EXACT_MIN, NAME_EXACT_MAX = 4, 9  # exact name points, by how rare the name is

# Points per kind, field and verdict; a verdict not listed counts 0. "exact" names use the
# frequency-based points above instead.
WEIGHTS: dict[str, dict[str, dict[str, int]]] = {
    "student": {
        "given_name": {
            "nickname": 5,
            "close": 4,
            "swapped": 5,
            "one_letter": 1,
            "partial": 2,
            "differ": -7,
        },
        "family_name": {"close": 4, "partial": 4, "swapped": 5, "differ": -6},
        "birth_date": {"exact": 8, "day_month_swapped": 5, "partial": 3, "differ": -8},
        "grade": {"exact": 1, "differ": -3},
        "school": {"exact": 1, "differ": -2},
        # differ: a child entered twice in the SIS, or re-keyed, has two numbers
        "student_number": {"exact": 10, "differ": -1},
        "email": {"exact": 8, "differ": -1},
        "phone": {"exact": 6, "partial": 3},  # exact: the same personal mobile
        "guardians": {"exact": 3, "partial": 1, "differ": -4},
        "user_ids": {"exact": 10},  # differ: 0, userIds often repeat the student number
        "lifecycle": {"handover": 6},
    },
    "guardian": {
        "given_name": {"nickname": 5, "close": 4, "swapped": 5, "partial": 2, "differ": -7},
        "family_name": {"close": 4, "partial": 4, "swapped": 5, "differ": -4},
        "email": {"exact": 8, "differ": -1},
        "phone": {"exact": 6, "differ": -2},
        "students": {"exact": 3, "differ": -2},
    },
}
# A given name found on no one else, at most two edits from a name that COMMON_NAME people or
# more have, is a misspelling of it (Anthony/Andhony, Kinsley/Kinsly, Nicholas/Micholas), not a
# name parents chose for a twin; unless both records have school e-mails that differ (twins never
# share one).
COMMON_NAME = 3
# A student number that differs costs 1 (one child entered twice in the SIS has two numbers, in
# one school); in two different schools, outside a handover, it costs this much (two namesakes).
NUMBER_DIFFER_ELSEWHERE = -3
# A missing given name is not neutral when family name and birth date agree (a twin looks so).
MISSING_GIVEN_TWINLIKE = -6


# Different names that look like typos of each other (a typo rarely changes a name's gender).
DISTINCT_NAMES = (
    ("christian", "christina"),
    ("christian", "christine"),
    ("francis", "frances"),
    ("marion", "marian"),
)


def _transposed(x: str, y: str) -> str:
    """Two neighbouring letters swapped (sma/sam): one Damerau edit but two plain edits.
    levenshtein is several times faster than damerau_levenshtein, so it goes first (in a CASE:
    the optimizer may reorder an AND)."""
    return f"""(CASE WHEN length({x}) = length({y}) AND length({x}) >= 3 AND levenshtein({x}, {y}) = 2
        THEN damerau_levenshtein({x}, {y}) = 1 ELSE false END)"""


def _one_edit(x: str, y: str) -> str:
    """Damerau distance 1: one insertion, deletion, substitution or transposition."""
    return f"(levenshtein({x}, {y}) = 1 OR {_transposed(x, y)})"


def _family_close(x: str, y: str) -> str:
    """Typo-close family names: Jaro-Winkler >= 0.92, or one transposition, or one edit in a
    longer name that keeps its first letter, or two edits in a name of eight letters or more. (Jaro-Winkler is cheap; the edit distances run
    only where they can still decide.)"""
    return f"""(jaro_winkler_similarity({x}, {y}) >= 0.92
        OR {_transposed(x, y)}
        OR (least(length({x}), length({y})) >= 5 AND left({x}, 1) = left({y}, 1)
            AND {_one_edit(x, y)})
        OR (least(length({x}), length({y})) >= 8 AND levenshtein({x}, {y}) <= 2))"""


def _distinct_name_pairs() -> str:
    """DISTINCT_NAMES as SQL lists, each pair sorted here (as _gendered compares them): two
    pairs written in the other order were never found."""
    return ", ".join(
        f"[{sql_literal(a)}, {sql_literal(b)}]" for a, b in (sorted(p) for p in DISTINCT_NAMES)
    )


def _sound(x: str) -> str:
    """A given name as it sounds, for names spelled by ear: ph as f, a hard c or ck as k, d as t
    (American English says the d and t of Adelyn, Caiden, Antonino alike; Dovid/Dovit), and a
    doubled letter as one (Emma/Ema). Vowels are kept: a vowel is what tells Mia from Mya's
    twin Maya, Dylan from Dillon; and so are g/k (Marco, Margo), s/z (Elisa, Eliza) and a final
    y, ie or i (Tony, Toni: twins' names often differ so)."""
    hard = f"""replace(regexp_replace(replace(replace({x}, 'ph', 'f'), 'ck', 'k'),
                                      'c([^eiy]|$)', 'k\\1', 'g'), 'd', 't')"""
    return f"""list_transform([{hard}], lambda s: array_to_string(
        list_filter(string_split(s, ''), lambda ch, i: i = 1 OR ch <> s[i - 1]), ''))[1]"""


def _sounds_alike(x: str, y: str) -> str:
    """Two spellings of one sound (Edward/Edwart, Joseph/Josef, Emma/Ema) with the same first
    letter: twins are given names that can be called apart."""
    return f"""(left({x}, 1) = left({y}, 1) AND least(length({x}), length({y})) >= 3
        AND {_sound(x)} = {_sound(y)})"""


def _given_close(x: str, y: str) -> str:
    """Typo-close given names, stricter than family names because twins' names are often alike:
    one transposition, one edit in a name of five letters or more that keeps its first letter,
    a neighbouring-key slip in a four-letter name that keeps its first letter, a K/C spelling (Katherine, Catherine), or Jaro-Winkler >= 0.95 between long names. Never two
    gendered forms of one name (Daniel/Daniela, Julian/Julia, Francisco/Francisca)."""
    return f"""(abs(length({x}) - length({y})) <= 2 AND (
        {_transposed(x, y)}
        OR (least(length({x}), length({y})) >= 5 AND left({x}, 1) = left({y}, 1)
            AND {_one_edit(x, y)})
        OR (length({x}) = 4 AND left({x}, 1) = left({y}, 1) AND {_slip(x, y)})
        OR (least(length({x}), length({y})) >= 4 AND substr({x}, 2) = substr({y}, 2)
            AND left({x}, 1) IN ('c', 'k') AND left({y}, 1) IN ('c', 'k'))
        OR (least(length({x}), length({y})) >= 7 AND jaro_winkler_similarity({x}, {y}) >= 0.95
            AND levenshtein({x}, {y}) <= 2))
        AND NOT {_gendered(x, y)})"""


def _gendered(x: str, y: str) -> str:
    """Two gendered forms of one name (Daniel/Daniela, Julian/Julia, Francisco/Francisca)."""
    return f"""(regexp_replace({x}, '[aeiouy]+$', '') = regexp_replace({y}, '[aeiouy]+$', '')
        OR {x} = {y} || 'n' OR {y} = {x} || 'n'
        OR [least({x}, {y}), greatest({x}, {y})] IN ({_distinct_name_pairs()}))"""


def _misspelt_given(x: str, y: str) -> str:
    """A given name spelled by ear (see _sounds_alike) or with two slips of the finger (see
    _two_slips), never two gendered forms: a misspelling, not another name (scored_sql trusts it
    only when the records' school e-mails do not differ)."""
    return f"""(abs(length({x}) - length({y})) <= 2
        AND ({_sounds_alike(x, y)} OR {_two_slips(x, y)}) AND NOT {_gendered(x, y)})"""


def _one_letter(x: str, y: str) -> str:
    """One letter more or less (Jamal/Jama, Maya/May, Julian/Julia) in names of three letters or
    more: a dropped letter, or another name (twins'). Only identifiers or the lifecycle decide."""
    return f"""(abs(length({x}) - length({y})) = 1 AND least(length({x}), length({y})) >= 3
        AND levenshtein({x}, {y}) = 1)"""


# Keys next to each other on a QWERTY keyboard: a slip of the finger, not another name.
# Each pair in alphabetical order, as the check below builds it (an unsorted pair such as "we"
# was never found, so most slips read as twins' names: Melany/Mdlany).
_KEYS_SIDE_BY_SIDE = (
    "qw we er rt ty yu ui io op as sd df fg gh hj jk kl zx xc cv vb bn nm "
    "qa wa ws es ed rd rf tf tg yg yh uh uj ij ik ok ol pl az sz sx dx dc fc fv gv gb hb hn jn jm km"
)
_ADJACENT = " ".join("".join(sorted(pair)) for pair in _KEYS_SIDE_BY_SIDE.split(" "))


def _neighbour_keys(c: str, d: str) -> str:
    """SQL: the letters `c` and `d` are keys side by side (in either order)."""
    return f"contains({sql_literal(_ADJACENT)}, array_to_string(list_sort([{c}, {d}]), ''))"


def _slip(x: str, y: str) -> str:
    """One letter replaced by the one on a neighbouring key (Cori/Cpri): a slip of the finger."""
    return f"""(length({x}) = length({y}) AND levenshtein({x}, {y}) = 1
        AND list_bool_or(list_transform(range(1, length({x}) + 1), lambda i:
            {x}[i] <> {y}[i] AND {_neighbour_keys(f"{x}[i]", f"{y}[i]")})))"""


def _two_slips(x: str, y: str) -> str:
    """Two letters each replaced by the one on a neighbouring key (Kenzie/Kebzir) in a name of
    six letters or more that keeps its first letter: two slips of the finger. A neighbouring key
    is rarely a letter that makes another name, so twins' names are not two slips apart."""
    return f"""(CASE WHEN length({x}) = length({y}) AND length({x}) >= 6
                  AND left({x}, 1) = left({y}, 1)
        THEN hamming({x}, {y}) = 2
             AND list_bool_and(list_transform(range(1, length({x}) + 1), lambda i:
                 {x}[i] = {y}[i] OR {_neighbour_keys(f"{x}[i]", f"{y}[i]")}))
        ELSE false END)"""


def _substitution_not_slip(x: str, y: str) -> str:
    """One letter replaced by another that is neither a neighbouring key nor a vowel for a vowel
    (Jaden/Jalen): how twins' names differ, rarely how a typo looks."""
    return f"""(length({x}) = length({y}) AND levenshtein({x}, {y}) = 1
        AND list_bool_or(list_transform(range(1, length({x}) + 1), lambda i:
            {x}[i] <> {y}[i]
            AND NOT {_neighbour_keys(f"{x}[i]", f"{y}[i]")}
            AND NOT ({x}[i] IN ('a', 'e', 'i', 'o', 'u', 'y') AND {y}[i] IN ('a', 'e', 'i', 'o', 'u', 'y')))))"""


# -- one verdict per field: each a CASE over the pair's two people, `a` and `b` ----------------
def _given_name_verdict() -> str:
    """The same given name (or a preferred one), swapped with the family name, a nickname, a
    typo, one letter more or less (Jamal/Jama: a typo or a twin's name, see guard_sql), one name
    of several, or an initial."""
    return f"""CASE WHEN a.gp IS NULL OR b.gp IS NULL THEN 'missing'
                 WHEN a.gp = b.gp OR a.pgp = b.gp OR a.gp = b.pgp THEN 'exact'
                 WHEN p.swapped THEN 'swapped'
                 WHEN n.a IS NOT NULL THEN 'nickname'
                 WHEN {_given_close("a.gp", "b.gp")} THEN 'close'
                 WHEN {_one_letter("a.gp", "b.gp")} THEN 'one_letter'
                 WHEN (len(a.gt) > 1 OR len(b.gt) > 1)
                      AND (list_has_all(a.gt, b.gt) OR list_has_all(b.gt, a.gt)) THEN 'partial'
                 WHEN (length(a.gp) = 1 OR length(b.gp) = 1) AND left(a.gp, 1) = left(b.gp, 1) THEN 'partial'
                 ELSE 'differ' END"""


def _family_name_verdict() -> str:
    """The same family name, swapped with the given name, a typo, or one shared part of a
    compound name (parts of three letters or more)."""
    return f"""CASE WHEN a.fp IS NULL OR b.fp IS NULL THEN 'missing'
                 WHEN a.fp = b.fp THEN 'exact'
                 WHEN p.swapped THEN 'swapped'
                 WHEN {_family_close("a.fp", "b.fp")} THEN 'close'
                 WHEN list_has_any(list_filter(a.ft, lambda t: length(t) >= 3),
                                   list_filter(b.ft, lambda t: length(t) >= 3)) THEN 'partial'
                 ELSE 'differ' END"""


def _one_household_one_name() -> str:
    """Two students of one grade with the same given and family name and a guardian in common
    (the same guardian, or a guardian's phone or e-mail): parents do not give two of their
    children one full name, so these are one child, whatever the birth dates say."""
    return """(a.kind = 'student' AND a.gp = b.gp AND a.fp = b.fp AND a.grade = b.grade
               AND list_has_any(a.fam, b.fam))"""


def _birth_date_verdict() -> str:
    """The same date, day and month swapped (a US/EU slip), or one typo in the same year or on
    the same day and month. Dates that cannot both be right are no evidence either way
    ('inconsistent'): two students one grade apart or less whose dates are more than two years
    apart (a parent's date copied, a mistyped year), and one household's two records of one
    full name in one grade (see _one_household_one_name: a sibling's date copied, two digits
    mistyped)."""
    return f"""CASE WHEN a.dob IS NULL OR b.dob IS NULL THEN 'missing'
                 WHEN a.dob = b.dob THEN 'exact'
                 WHEN year(a.dob) = year(b.dob) AND month(a.dob) = day(b.dob)
                      AND day(a.dob) = month(b.dob) THEN 'day_month_swapped'
                 WHEN (year(a.dob) = year(b.dob) OR (month(a.dob) = month(b.dob) AND day(a.dob) = day(b.dob)))
                      AND {_one_edit("a.ds", "b.ds")} THEN 'partial'
                 WHEN abs(a.grade - b.grade) <= 1 AND abs(date_diff('day', a.dob, b.dob)) > 730
                     THEN 'inconsistent'
                 WHEN {_one_household_one_name()} THEN 'inconsistent'
                 ELSE 'differ' END"""


def _grade_verdict() -> str:
    """The same grade, or one apart (a record a year behind)."""
    return """CASE WHEN a.grade IS NULL OR b.grade IS NULL THEN 'missing'
                 WHEN a.grade = b.grade THEN 'exact'
                 WHEN abs(a.grade - b.grade) = 1 THEN 'partial'
                 ELSE 'differ' END"""


def _school_verdict() -> str:
    """A school in common."""
    return """CASE WHEN coalesce(len(a.schools), 0) = 0 OR coalesce(len(b.schools), 0) = 0 THEN 'missing'
                 WHEN list_has_any(a.schools, b.schools) THEN 'exact'
                 ELSE 'differ' END"""


def _same_value_verdict(column: str) -> str:
    """A single value that agrees or not (student number, e-mail)."""
    a, b = f"a.{sql_ident(column)}", f"b.{sql_ident(column)}"
    return f"""CASE WHEN {a} IS NULL OR {b} IS NULL THEN 'missing'
                 WHEN {a} = {b} THEN 'exact' ELSE 'differ' END"""


def _phone_verdict() -> str:
    """Guardians: a phone number in common (mobile or home). Students: the same personal mobile
    (exact: twins never share one), or a number in common that is also a guardian's or a home
    number (partial: a family phone, which twins do share)."""
    return f"""CASE WHEN len(a.phones) = 0 OR len(b.phones) = 0 THEN 'missing'
                 WHEN a.kind = 'student' AND a.mobile = b.mobile
                      AND NOT list_contains(a.fam, {contact("p", "a.mobile")})
                      AND NOT list_contains(b.fam, {contact("p", "a.mobile")}) THEN 'exact'
                 WHEN list_has_any(a.phones, b.phones)
                     THEN CASE WHEN a.kind = 'student' THEN 'partial' ELSE 'exact' END
                 ELSE 'differ' END"""


def _user_ids_verdict() -> str:
    """An id of userIds in common (a state id, an LDAP login); differ when both carry an id of
    the same type with different values."""
    types = "list_transform({x}.ids, lambda i: split_part(i, ':', 1))"
    return f"""CASE WHEN len(a.ids) = 0 OR len(b.ids) = 0 THEN 'missing'
                 WHEN list_has_any(a.ids, b.ids) THEN 'exact'
                 WHEN list_has_any({types.format(x="a")}, {types.format(x="b")}) THEN 'differ'
                 ELSE 'missing' END"""


def _lifecycle_verdict() -> str:
    """Students the sync created: 'handover' when one left the feed (archived by a run) and the
    other arrived within HANDOVER_RUNS applied runs of it, after the first had arrived (a SIS
    that re-issued the child's id); 'coexist' when both were in the feed at once for longer (how
    twins look); 'apart' when they were in the feed at different times."""

    def handover(old: str, new: str) -> str:
        return f"""({old}.left_feed IS NOT NULL AND {new}.arrived > {old}.arrived
            AND abs({new}.arrived - {old}.left_feed) <= {int(HANDOVER_RUNS)}
            AND ({new}.left_feed IS NULL OR {new}.left_feed > {old}.left_feed))"""

    return f"""CASE WHEN a.kind <> 'student' OR a.arrived IS NULL OR b.arrived IS NULL THEN 'missing'
                 WHEN {handover("a", "b")} OR {handover("b", "a")} THEN 'handover'
                 WHEN a.arrived < coalesce(b.left_feed, 9223372036854775807)
                      AND b.arrived < coalesce(a.left_feed, 9223372036854775807) THEN 'coexist'
                 ELSE 'apart' END"""


def _guardians_verdict() -> str:
    """Students: a guardian in common, or a guardian of the same name."""
    return """CASE WHEN a.kind <> 'student' THEN 'missing'
                 WHEN list_has_any(a.fam, b.fam) THEN 'exact'
                 WHEN list_has_any(a.fam_names, b.fam_names) THEN 'partial'
                 WHEN len(a.fam) = 0 OR len(b.fam) = 0 THEN 'missing'
                 ELSE 'differ' END"""


def _students_verdict() -> str:
    """Guardians: a child in common."""
    return """CASE WHEN a.kind <> 'guardian' OR len(a.fam) = 0 OR len(b.fam) = 0 THEN 'missing'
                 WHEN list_has_any(a.fam, b.fam) THEN 'exact' ELSE 'differ' END"""


def _field_verdicts() -> dict[str, str]:
    """Each field of FIELDS with its verdict, in FIELDS order (the columns of the verdicts)."""
    verdicts = {
        "given_name": _given_name_verdict(),
        "family_name": _family_name_verdict(),
        "birth_date": _birth_date_verdict(),
        "grade": _grade_verdict(),
        "school": _school_verdict(),
        "student_number": _same_value_verdict("ident"),
        "email": _same_value_verdict("email"),
        "phone": _phone_verdict(),
        "guardians": _guardians_verdict(),
        "students": _students_verdict(),
        "user_ids": _user_ids_verdict(),
        "lifecycle": _lifecycle_verdict(),
    }
    return {field: verdicts[field] for field in FIELDS}


def _look_alike_given_names() -> str:
    """Born the same day, given names of one length one non-slip letter apart (Jaden/Jalen): a
    'close' given name that is most likely a twin's (see scored_sql)."""
    return f"""CASE WHEN a.dob = b.dob AND length(a.gp) = length(b.gp) AND a.gp <> b.gp
                 THEN {_substitution_not_slip("a.gp", "b.gp")} ELSE false END"""


def _names_swapped() -> str:
    """Given and family name entered the other way round (same initials, each close to the
    other's)."""
    return f"""(a.gp IS NOT NULL AND a.fp IS NOT NULL AND b.gp IS NOT NULL AND b.fp IS NOT NULL
        AND a.gp <> b.gp AND left(a.gp, 1) = left(b.fp, 1) AND left(a.fp, 1) = left(b.gp, 1)
        AND (a.gp = b.fp OR {_family_close("a.gp", "b.fp")})
        AND (a.fp = b.gp OR {_family_close("a.fp", "b.gp")}))"""


def _pairs_of_kind(kind: str, pairs: str = PAIRS, people: str = PEOPLE) -> str:
    """The candidate pairs of one kind (students or guardians), whether their names are swapped."""
    return f"""SELECT x.a, x.b, {_names_swapped()} AS swapped
              FROM {pairs} x JOIN {people} a ON a.user_id = x.a JOIN {people} b ON b.user_id = x.b
              WHERE a.kind = {sql_literal(kind)}"""


def _verdicts_sql(kind: str, pairs: str = PAIRS, people: str = PEOPLE) -> str:
    """One row of verdicts per pair. Expensive string comparisons sit behind cheap guards (CASE
    arms and ANDs are evaluated only for the rows that reach them)."""
    verdicts = ",\n            ".join(
        f"{sql} AS {field}" for field, sql in _field_verdicts().items()
    )
    return f"""
        SELECT p.a, p.b, a.kind, p.swapped,
            {verdicts},
            {_look_alike_given_names()} AS g_rhyme,
            (least(coalesce(a.g_cnt, 1), coalesce(b.g_cnt, 1)) = 1
             AND greatest(coalesce(a.g_cnt, 1), coalesce(b.g_cnt, 1)) >= {int(COMMON_NAME)}
             AND least(length(a.gp), length(b.gp)) >= 4 AND levenshtein(a.gp, b.gp) <= 2)
                AS g_misspelt,
            -- spelled by ear or with two slips (Dovid/Dovit, Kenzie/Kebzir)
            CASE WHEN a.gp <> b.gp THEN {_misspelt_given("a.gp", "b.gp")} ELSE false END
                AS g_spelling,
            -- a family name found on no other student, within two edits of the other (Wells/Drlls)
            (least(coalesce(a.f_cnt, 1), coalesce(b.f_cnt, 1)) = 1
             AND least(length(a.fp), length(b.fp)) >= 4 AND levenshtein(a.fp, b.fp) <= 2)
                AS f_misspelt,
            -- two given names in their own right, alike in look (Emily, Emma; not Jonathan, Jon)
            coalesce(n.both_full, false) AND abs(length(a.gp) - length(b.gp)) <= 2
                AND left(a.gp, 2) = left(b.gp, 2) AS nick_both_full,
            a.g_freq AS a_gfreq, a.f_freq AS a_ffreq
        FROM ({_pairs_of_kind(kind, pairs, people)}) p
        JOIN {people} a ON a.user_id = p.a
        JOIN {people} b ON b.user_id = p.b
        LEFT JOIN {NICK_TABLE} n ON n.a = a.gp AND n.b = b.gp
    """


def _points_expr(field: str) -> str:
    """CASE kind, verdict -> points for one field."""
    arms = []
    for kind, fields in WEIGHTS.items():
        for verdict, pts in fields.get(field, {}).items():
            arms.append(
                f"WHEN v.kind = {sql_literal(kind)} AND v.{field} = {sql_literal(verdict)} "
                f"THEN {int(pts)}"
            )
    if field in ("given_name", "family_name"):
        letter = "g" if field == "given_name" else "f"
        arms.insert(0, f"WHEN v.{field} = 'exact' THEN {_exact_name_points(letter)}")
    if field == "student_number":  # two numbers in two schools at once: two children
        arms.insert(
            0,
            "WHEN v.kind = 'student' AND v.student_number = 'differ' AND v.school = 'differ' "
            f"AND v.lifecycle <> 'handover' THEN {int(NUMBER_DIFFER_ELSEWHERE)}",
        )
    if field == "given_name":  # one letter apart is another name (Daniel/Daniela) but in a handover
        arms.insert(
            0,
            "WHEN v.kind = 'student' AND v.given_name = 'one_letter' AND v.lifecycle <> 'handover' "
            f"THEN {int(WEIGHTS['student']['given_name']['differ'])}",
        )
        arms.insert(
            0,
            "WHEN v.kind = 'student' AND v.given_name = 'missing' AND v.birth_date = 'exact' "
            f"AND v.family_name IN ('exact', 'close') THEN {int(MISSING_GIVEN_TWINLIKE)}",
        )
    return f"CASE {' '.join(arms)} ELSE 0 END"


def _exact_name_points(letter: str) -> str:
    """An exact name is worth more the rarer it is (its frequency among people of the kind)."""
    return exact_name_points(f"v.a_{letter}freq")


def exact_name_points(freq: str) -> str:
    """The points of an exact name whose frequency is the expression `freq`."""
    return (
        f"least({int(NAME_EXACT_MAX)}, greatest({int(NAME_EXACT_MIN)}, "
        f"CAST(round(0.5 * log2(1.0 / coalesce({freq}, 0.002))) AS INTEGER) + 2))"
    )


def guard_sql() -> str:
    """True for pairs that must never be proposed, whatever else agrees.

    Twins (and siblings born the same day) share family name, birth date, school, grade and
    guardians: a student pair whose given names clearly differ while birth date and family name
    agree is never the same child, and neither is a pair that was in the feed at once (twins
    coexist) with different given names and one family name. Two guardians with clearly
    different given names are two people (the parents of one household share phone, e-mail and
    children). And a pair that agrees on nothing but names is not proposed.

    The twin guard yields to what twins never share: an identifier (see _identified), or a
    re-keyed record (one left the feed as the other arrived) whose given name lost or gained a
    letter (Jamal/Jama, Maya/May).
    """
    same_name = "('exact', 'close', 'nickname', 'swapped', 'partial')"
    family = "v.family_name IN ('exact', 'close', 'partial')"
    twins = f"""(v.given_name NOT IN {same_name} AND v.given_name <> 'missing'
                AND (v.kind = 'guardian'
                     OR (v.birth_date = 'exact' AND {family})
                     OR (v.lifecycle = 'coexist' AND {family})))"""
    excused = f"(v.kind = 'student' AND ({_identified()} OR {_rekeyed_name()}))"
    return f"(({twins} AND NOT {excused}) OR NOT {_corroborated()})"


def _identified() -> str:
    """Students: the same school e-mail, student number, id of userIds or personal mobile, and no
    identifier that contradicts it (twins with different e-mails are two children). A re-keyed
    record has a new student number and userIds, so those may differ across a handover."""
    return """((v.student_number = 'exact' OR v.email = 'exact' OR v.user_ids = 'exact'
                OR v.phone = 'exact')
               AND v.email <> 'differ'
               AND (v.lifecycle = 'handover'
                    OR (v.student_number <> 'differ' AND v.user_ids <> 'differ')))"""


def _rekeyed_name() -> str:
    """A re-keyed record whose given name lost or gained one letter."""
    return "(v.lifecycle = 'handover' AND v.given_name = 'one_letter')"


def _corroborated() -> str:
    """Names alone are not enough: in a large district even rare full names recur. A student pair
    also needs its birth date, an identifier, a phone, a guardian contact, the school or a
    handover to agree; a guardian pair its e-mail, phone or a child."""
    return """(CASE v.kind
        WHEN 'student' THEN v.birth_date IN ('exact', 'day_month_swapped', 'partial')
            OR v.student_number = 'exact' OR v.email = 'exact' OR v.user_ids = 'exact'
            OR v.phone IN ('exact', 'partial') OR v.guardians = 'exact' OR v.school = 'exact'
            OR v.lifecycle = 'handover'
        ELSE v.email = 'exact' OR v.phone = 'exact' OR v.students = 'exact' END)"""


def _twins_rekeyed() -> str:
    """Twin-like pairs let through only by the re-keyed-name rule (see keep_best_rekeyed)."""
    same_name = "('exact', 'close', 'nickname', 'swapped', 'partial')"
    return f"""(v.kind = 'student' AND v.given_name NOT IN {same_name} AND v.given_name <> 'missing'
        AND NOT {_identified()} AND {_rekeyed_name()})"""


def keep_best_rekeyed(db: Database, kind: str) -> None:
    """A re-keyed record has one new record. Twins re-keyed the same night look like handovers
    to each other (old Julian, new Julia), and so do two namesakes re-keyed the same night: a
    handover pair (or one let through by the re-keyed-name rule) stays only when neither record
    has a better pair (its own new record).

    And a record that arrived as another left (a handover: the SIS re-issued that child's id) is
    not also a duplicate of a record in the feed beside it with a school e-mail of its own: that
    one is a sibling, such as the twin whose name the re-keyed record's new name looks like
    (Lila re-keyed as Lil beside her twin Lily). The record that left still pairs with it."""
    # Both deletes find their rows by equality on people: a join on the kind with the pair test
    # as its condition compared every pair with every handover (out of memory at 3M students).
    db.execute(
        f"""
        WITH new_records AS MATERIALIZED (
            SELECT CASE WHEN ua.created_run > ub.created_run THEN o.a ELSE o.b END AS id
            FROM {SCORED} o
            JOIN users ua ON ua.user_id = o.a JOIN users ub ON ub.user_id = o.b
            WHERE o.kind = $kind AND o.evidence.lifecycle = 'handover')
        DELETE FROM {SCORED}
        WHERE kind = $kind AND evidence.lifecycle = 'coexist' AND evidence.email = 'differ'
          AND (a IN (SELECT id FROM new_records) OR b IN (SELECT id FROM new_records))
        """,
        {"kind": kind},
    )
    # A pair that is not the best of one of its people (the best points of any pair it is in).
    db.execute(
        f"""
        WITH best AS MATERIALIZED (
            SELECT person, max(points) AS best FROM (
                SELECT a AS person, points FROM {SCORED} WHERE kind = $kind
                UNION ALL SELECT b, points FROM {SCORED} WHERE kind = $kind)
            GROUP BY person)
        DELETE FROM {SCORED} WHERE rowid IN (
            SELECT x.rowid FROM {SCORED} x
            JOIN best pa ON pa.person = x.a JOIN best pb ON pb.person = x.b
            WHERE x.kind = $kind AND (x.rekeyed_only OR x.evidence.lifecycle = 'handover')
              AND (pa.best > x.points OR pb.best > x.points))
        """,
        {"kind": kind},
    )


def scored_sql(
    kind: str,
    threshold: int = THRESHOLD,
    all_rows: bool = False,
    pairs: str = PAIRS,
    people: str = PEOPLE,
) -> str:
    """The scored pairs of one kind (from the tables `pairs` and `people`): points, score,
    evidence, field points. Only those at the threshold or above that the guard allows, or (all_rows, for
    evaluation) every compared pair with its `guarded` flag."""
    points = {f: _points_expr(f) for f in FIELDS}
    total = " + ".join(f"fp_{f}" for f in FIELDS)
    evidence = ", ".join(f"{sql_literal(f)}: v.{f}" for f in FIELDS)
    field_points = ", ".join(f"{sql_literal(f)}: fp_{f}" for f in FIELDS)
    threshold = int(threshold)
    keep = "true" if all_rows else f"NOT guarded AND {total} >= {threshold}"
    return f"""
        WITH raw AS MATERIALIZED ({_verdicts_sql(kind, pairs, people)}),
        v AS (  -- a misspelt given name is close (COMMON_NAME; spelled by ear or with two
                -- slips) unless the school e-mails differ; else twins' look-alike names: a
                -- close given name by a non-slip letter is different; so are two given names
                -- related as nicknames (Emily, Emma) of children with different school e-mails
            SELECT * REPLACE (CASE WHEN (g_misspelt OR g_spelling) AND email <> 'differ'
                                        AND given_name IN ('close', 'one_letter', 'differ')
                                   THEN 'close'
                                   WHEN birth_date = 'exact'
                                        AND family_name IN ('exact', 'close', 'partial')
                                        AND ((given_name = 'close' AND g_rhyme)
                                             OR (given_name = 'nickname' AND nick_both_full
                                                 AND email = 'differ'))
                                   THEN 'differ' ELSE given_name END AS given_name,
                              CASE WHEN family_name = 'differ' AND f_misspelt AND kind = 'student'
                                   THEN 'close' ELSE family_name END AS family_name)
            FROM raw
        ),
        pts AS (
            SELECT v.*, {", ".join(f"{points[f]} AS fp_{f}" for f in FIELDS)},
                   {guard_sql()} AS guarded, {_twins_rekeyed()} AS rekeyed_only
            FROM v
        )
        SELECT a, b, kind, {total} AS points,
               1.0 / (1.0 + pow(2.0, ({threshold} - ({total})) / 2.0)) AS score,
               {{{evidence}}} AS evidence, {{{field_points}}} AS field_points, rekeyed_only
               {", guarded" if all_rows else ""}
        FROM pts v
        WHERE {keep}
        """


# -- a bound before scoring: most compared pairs cannot reach the threshold ------------------
BOUNDED = "dup_pairs_bounded"
NARROW = "dup_narrow"
MAYBE = "dup_pairs_maybe"
BOUND_PEOPLE = "dup_people_bounded"  # PEOPLE of the pairs in BOUNDED
BOUND_IDS = "dup_bound_ids"
NAME_PAIRS = "dup_name_pairs"


def _top(kind: str, field: str, *verdicts: str) -> int:
    """The most points any of `verdicts` earns for `field` (a verdict not listed counts 0)."""
    weights = WEIGHTS[kind].get(field, {})
    return max(int(weights.get(v, 0)) for v in verdicts)


# Each person's scalars the first bounds read (of a PEOPLE row; the scan's cache keeps them
# too): how many schools, userIds and family contacts, the only school, the (at most two)
# phones, whether a name has several parts or is an initial ('partial' is possible). Strings
# compared only for equality are hashed: equal values have equal hashes, so a bound read from
# them is never lower than one read from the values.
NARROW_SCALARS = """pgp, dob, grade, arrived, left_feed,
    CASE WHEN email IS NOT NULL THEN hash(email) END AS email,
    CASE WHEN ident IS NOT NULL THEN hash(ident) END AS ident,
    CASE WHEN mobile IS NOT NULL THEN hash(mobile) END AS mobile,
    CASE WHEN len(phones) >= 1 THEN hash(phones[1]) END AS p1,
    CASE WHEN len(phones) >= 2 THEN hash(phones[2]) END AS p2,
    coalesce(len(schools), 0) AS ns, CASE WHEN len(schools) = 1 THEN schools[1] END AS s1,
    len(ids) AS nids, len(fam) AS nfam,
    len(gt) > 1 OR length(gp) = 1 AS gpart, len(ft) > 1 AS fpart,
    {fmask} AS fmask, {fmask2} AS fmask2, {nmask} AS nmask, {nmask2} AS nmask2"""


def _mask(values: str, bits: int, part: int = 0) -> str:
    """A bit set of a student's list's values (one bit per value, from its hash; `part` picks
    another part of the hash): two lists that share a value have masks that share a bit, so
    masks with no bit in common mean lists with no value in common. A student's guardians'
    contacts and names so bound the guardians field without carrying the lists: most pairs of
    one block are two families' children. (Two masks of the contacts, each from another part
    of the hash: both share a bit for one pair in thirty without a contact in common, one for
    one in five; of the guardians' names, two masks of 64 bits.)"""
    one = "UHUGEINT" if bits == 128 else "UBIGINT"
    bit = f"CAST((hash(v) >> {int(part) * 16}) % {int(bits)} AS {one})"
    return (
        f"CASE WHEN kind = 'student' THEN coalesce(list_bit_or(list_transform({values}, "
        f"lambda v: CAST(1 AS {one}) << {bit})), 0) END"
    )


NARROW_SCALARS = NARROW_SCALARS.format(
    fmask=_mask("fam", 128),
    fmask2=_mask("fam", 128, part=1),
    nmask=_mask("fam_names", 64),
    nmask2=_mask("fam_names", 64, part=1),
)


def _narrow_sql(kind: str) -> str:
    """NARROW from PEOPLE: the scalars (lists are slow to carry through a join) and the
    exact-name points of the given and family names."""
    return f"""SELECT user_id, kind, gp, fp, {NARROW_SCALARS},
                      {exact_name_points("g_freq")} AS gx, {exact_name_points("f_freq")} AS fx
               FROM {PEOPLE} WHERE kind = {sql_literal(kind)}"""


def _upper_bound_sql(kind: str, narrow: bool, names: bool | None = None) -> str:
    """Points a pair of `kind` (people `a`, `b`) can reach at most: each field's points computed
    from cheap comparisons only (equality, dates, short lists), a field whose verdict needs the
    string comparisons (a close, swapped or nickname name, a guardian's name) bounded by the most
    its verdicts can earn. Never below the points scored_sql gives: see _points_expr and the
    verdicts, including the rules that turn one verdict into another (a misspelt name is close,
    a twin's look-alike name differs). `narrow`: from NARROW's scalars only (a looser bound
    where a list decides: several schools, userIds, a guardian's children). `names`: two
    different names from their comparison in NAME_PAIRS (`ng`, `nf`; the default: not narrow),
    else from the most any comparison gives."""
    names = not narrow if names is None else names
    s = kind == "student"
    every = VERDICTS

    def name(letter: str, field: str) -> str:
        col = f"{letter}p"
        same = f"a.{col} = b.{col}"
        if letter == "g":
            same += " OR a.pgp = b.gp OR a.gp = b.pgp"
        missing = _top(kind, field, "missing")
        if s and field == "given_name":
            missing = max(missing, MISSING_GIVEN_TWINLIKE)
        others = str(_top(kind, field, *(v for v in every if v not in ("exact", "missing"))))
        if names:  # from the two names' comparison (NAME_PAIRS) and what the rows say
            swap = """a.gp <> b.gp AND left(a.gp, 1) = left(b.fp, 1)
                      AND left(a.fp, 1) = left(b.gp, 1)"""
            if narrow:  # see _narrow_sql
                part = f"a.{letter}part OR b.{letter}part"
            else:
                part = f"len(a.{letter}t) > 1 OR len(b.{letter}t) > 1"
                if letter == "g":
                    part += " OR length(a.gp) = 1 OR length(b.gp) = 1"
            others = f"""greatest(coalesce(n{letter}.best, {others}),
                CASE WHEN {swap} THEN {_top(kind, field, "swapped")} ELSE -1000 END,
                CASE WHEN {part} THEN {_top(kind, field, "partial")} ELSE -1000 END)"""
        points = f"a.{letter}x" if narrow else exact_name_points(f"a.{letter}_freq")
        return f"""CASE WHEN a.{col} IS NULL OR b.{col} IS NULL THEN {missing}
                     WHEN {same} THEN {points}
                     ELSE {others} END"""

    def same_value(field: str, col: str, differ: int | None = None) -> str:
        worst = _top(kind, field, "differ") if differ is None else differ
        return f"""CASE WHEN a.{col} IS NULL OR b.{col} IS NULL THEN {_top(kind, field, "missing")}
                     WHEN a.{col} = b.{col} THEN {_top(kind, field, "exact")} ELSE {worst} END"""

    def lists(field: str, col: str, agree: str, differ: str, count: str | None = None) -> str:
        if narrow:  # only whether both have one: either verdict
            return f"""CASE WHEN a.{count} = 0 OR b.{count} = 0 THEN {_top(kind, field, "missing")}
                         ELSE {_top(kind, field, agree, differ)} END"""
        return f"""CASE WHEN coalesce(len(a.{col}), 0) = 0 OR coalesce(len(b.{col}), 0) = 0
                          THEN {_top(kind, field, "missing")}
                     WHEN list_has_any(a.{col}, b.{col}) THEN {_top(kind, field, agree)}
                     ELSE {_top(kind, field, differ)} END"""

    def phones() -> str:
        """A phone in common (phones holds at most two: the mobile, then the home number)."""
        if narrow:
            return """(a.p1 = b.p1 OR a.p1 = b.p2 OR a.p2 = b.p1 OR a.p2 = b.p2)"""
        return "list_has_any(a.phones, b.phones)"

    def phone() -> str:
        empty = (
            "a.p1 IS NULL OR b.p1 IS NULL" if narrow else "len(a.phones) = 0 OR len(b.phones) = 0"
        )
        mobile = (
            f"WHEN a.mobile = b.mobile THEN {_top(kind, 'phone', 'exact', 'partial')}" if s else ""
        )
        shared = _top(kind, "phone", "partial" if s else "exact")
        return f"""CASE WHEN {empty} THEN {_top(kind, "phone", "missing")} {mobile}
                     WHEN {phones()} THEN {shared}
                     ELSE {_top(kind, "phone", "differ")} END"""

    if narrow:
        school = f"""CASE WHEN a.ns = 0 OR b.ns = 0 THEN {_top(kind, "school", "missing")}
                       WHEN a.ns = 1 AND b.ns = 1 AND a.s1 <> b.s1 THEN {_top(kind, "school", "differ")}
                       ELSE {_top(kind, "school", "exact", "differ")} END"""
    else:
        school = lists("school", "schools", "exact", "differ")
    terms = [name("g", "given_name"), name("f", "family_name"), same_value("email", "email")]
    if s:
        d_year, d_month, d_day = "year(a.dob) = year(b.dob)", "month(a.dob)", "day(a.dob)"
        # a guardian in common (see _one_household_one_name); narrow: their family contacts'
        # masks share a bit (see _mask)
        shared = "((a.fmask & b.fmask) <> 0 AND (a.fmask2 & b.fmask2) <> 0)"
        household = shared if narrow else "list_has_any(a.fam, b.fam)"
        terms += [
            f"""CASE WHEN a.dob IS NULL OR b.dob IS NULL THEN {_top(kind, "birth_date", "missing")}
                 WHEN a.dob = b.dob THEN {_top(kind, "birth_date", "exact")}
                 WHEN {d_year} AND {d_month} = day(b.dob) AND {d_day} = month(b.dob)
                     THEN {_top(kind, "birth_date", "day_month_swapped")}
                 WHEN {d_year} OR ({d_month} = month(b.dob) AND {d_day} = day(b.dob))
                     THEN {_top(kind, "birth_date", "partial", "inconsistent", "differ")}
                 WHEN abs(a.grade - b.grade) <= 1 AND abs(date_diff('day', a.dob, b.dob)) > 730
                     THEN {_top(kind, "birth_date", "inconsistent")}
                 WHEN a.gp = b.gp AND a.fp = b.fp AND a.grade = b.grade AND {household}
                     THEN {_top(kind, "birth_date", "inconsistent", "differ")}
                 ELSE {_top(kind, "birth_date", "differ")} END""",
            f"""CASE WHEN a.grade IS NULL OR b.grade IS NULL THEN {_top(kind, "grade", "missing")}
                 WHEN a.grade = b.grade THEN {_top(kind, "grade", "exact")}
                 WHEN abs(a.grade - b.grade) = 1 THEN {_top(kind, "grade", "partial")}
                 ELSE {_top(kind, "grade", "differ")} END""",
            school,
            same_value(
                "student_number",
                "ident",
                max(_top(kind, "student_number", "differ"), NUMBER_DIFFER_ELSEWHERE),
            ),
            phone(),
            f"""CASE WHEN {shared} THEN {_top(kind, "guardians", "exact", "partial", "differ", "missing")}
                 WHEN (a.nmask & b.nmask) <> 0 AND (a.nmask2 & b.nmask2) <> 0 THEN {_top(kind, "guardians", "partial", "differ", "missing")}
                 WHEN a.nfam = 0 OR b.nfam = 0 THEN {_top(kind, "guardians", "missing")}
                 ELSE {_top(kind, "guardians", "differ")} END"""
            if narrow
            else f"""CASE WHEN list_has_any(a.fam, b.fam) THEN {_top(kind, "guardians", "exact")}
                 WHEN list_has_any(a.fam_names, b.fam_names) THEN {_top(kind, "guardians", "partial")}
                 WHEN len(a.fam) = 0 OR len(b.fam) = 0 THEN {_top(kind, "guardians", "missing")}
                 ELSE {_top(kind, "guardians", "differ")} END""",
            lists("user_ids", "ids", "exact", "differ", count="nids"),
            f"""CASE {_lifecycle_verdict()} {
                " ".join(
                    f"WHEN {sql_literal(v)} THEN {_top(kind, 'lifecycle', v)}"
                    for v in ("handover", "coexist", "apart", "missing")
                )
            } END""",
        ]
    else:
        terms += [phone(), lists("students", "fam", "exact", "differ", count="nfam")]
    return "(" + "\n + ".join(terms) + ")"


def _may_corroborate_sql(kind: str, narrow: bool) -> str:
    """False when the pair cannot pass _corroborated whatever the string comparisons say.
    `narrow`: from NARROW's scalars (whether both have userIds, schools, family contacts)."""
    both = "(a.{n} > 0 AND b.{n} > 0)"
    if narrow:
        phones = "(a.p1 = b.p1 OR a.p1 = b.p2 OR a.p2 = b.p1 OR a.p2 = b.p2)"
        ids, fam = both.format(n="nids"), both.format(n="nfam")
        school = f"({both.format(n='ns')} AND NOT (a.ns = 1 AND b.ns = 1 AND a.s1 <> b.s1))"
    else:
        phones = "list_has_any(a.phones, b.phones)"
        ids, fam = "list_has_any(a.ids, b.ids)", "list_has_any(a.fam, b.fam)"
        school = "list_has_any(a.schools, b.schools)"
    if kind == "student":  # a guardian in common: both have guardians
        guardians = both.format(n="nfam") if narrow else "(len(a.fam) > 0 AND len(b.fam) > 0)"
        return f"""(a.dob = b.dob OR year(a.dob) = year(b.dob)
                   OR (month(a.dob) = month(b.dob) AND day(a.dob) = day(b.dob))
                   OR a.ident = b.ident OR a.email = b.email OR {ids} OR {phones}
                   OR {guardians} OR {school}
                   OR a.left_feed IS NOT NULL OR b.left_feed IS NOT NULL)"""
    return f"""(a.email = b.email OR {phones} OR {fam})"""


def _name_pairs_sql(kind: str) -> str:
    """NAME_PAIRS: for each two different given names (field 'g') and family names ('f') of the
    pairs in MAYBE, the most points their comparison can earn, swapped and partial names aside
    (those depend on the rest of the rows): a nickname, close, misspelt (see scored_sql), one
    letter apart, or different. The string comparisons run once per two names, not per pair."""

    def best(*arms: tuple[str, int | str]) -> str:
        return (
            "greatest("
            + ", ".join(f"CASE WHEN {cond} THEN {pts} ELSE -1000 END" for cond, pts in arms)
            + ")"
        )

    def top(field: str, verdict: str) -> int:
        return _top(kind, field, verdict)

    misspelt = "least(length(x), length(y)) >= 4 AND levenshtein(x, y) <= 2"
    given = best(
        ("true", top("given_name", "differ")),
        (
            f"EXISTS (SELECT 1 FROM {NICK_TABLE} n WHERE n.a = x AND n.b = y)",
            top("given_name", "nickname"),
        ),
        (_given_close("x", "y"), top("given_name", "close")),
        (misspelt, top("given_name", "close")),
        (_misspelt_given("x", "y"), top("given_name", "close")),
        (_one_letter("x", "y"), top("given_name", "one_letter")),
    )
    family = best(
        ("true", top("family_name", "differ")),
        (_family_close("x", "y"), top("family_name", "close")),
        (misspelt if kind == "student" else "false", top("family_name", "close")),
    )
    return f"""SELECT 'g' AS field, x, y, {given} AS best
               FROM (SELECT DISTINCT ga AS x, gb AS y FROM {MAYBE} WHERE ga <> gb)
               UNION ALL
               SELECT 'f', x, y, {family}
               FROM (SELECT DISTINCT fa AS x, fb AS y FROM {MAYBE} WHERE fa <> fb)"""


def bound_pairs(
    db: Database,
    kind: str,
    threshold: int = THRESHOLD,
    narrow: str | None = None,
    build: Callable[[str], None] | None = None,
) -> int:
    """BOUNDED: the pairs of PAIRS of one kind that may reach `threshold` and pass the
    corroboration rule, so that the full scoring runs on these few (most pairs of a block share
    a name and nothing else) with the same result as on all of PAIRS. Three bounds, each at most
    the points scoring gives, each on the pairs the one before let through: from each person's
    scalars (MAYBE), with the names' comparisons (NAME_PAIRS), then with the lists.

    `narrow`: a query for NARROW (the columns of _narrow_sql) when PEOPLE does not hold everyone
    yet; then `build(table)` builds PEOPLE for the user_ids in `table`, the people of the pairs
    the first two bounds let through (an incremental scan)."""
    t = int(threshold)
    db.execute(f"CREATE OR REPLACE TEMP TABLE {NARROW} AS {narrow or _narrow_sql(kind)}")
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {MAYBE} AS
            SELECT x.a, x.b, a.gp AS ga, b.gp AS gb, a.fp AS fa, b.fp AS fb FROM {PAIRS} x
            JOIN {NARROW} a ON a.user_id = x.a JOIN {NARROW} b ON b.user_id = x.b
            WHERE {_may_corroborate_sql(kind, True)} AND {_upper_bound_sql(kind, True, False)} >= {t}"""
    )
    db.execute(f"CREATE OR REPLACE TEMP TABLE {NAME_PAIRS} AS {_name_pairs_sql(kind)}")
    names = f"""LEFT JOIN {NAME_PAIRS} ng ON ng.field = 'g' AND ng.x = x.ga AND ng.y = x.gb
                LEFT JOIN {NAME_PAIRS} nf ON nf.field = 'f' AND nf.x = x.fa AND nf.y = x.fb"""
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {MAYBE}_names AS
            SELECT x.* FROM {MAYBE} x
            JOIN {NARROW} a ON a.user_id = x.a JOIN {NARROW} b ON b.user_id = x.b
            {names}
            WHERE {_upper_bound_sql(kind, True, True)} >= {t}"""
    )
    # the people of those pairs, for the last bound and the scoring (not everyone's lists)
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {BOUND_IDS} AS
            SELECT a AS user_id FROM {MAYBE}_names UNION SELECT b FROM {MAYBE}_names"""
    )
    if build is not None:
        build(BOUND_IDS)
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {BOUND_PEOPLE} AS
            SELECT * FROM {PEOPLE} WHERE user_id IN (SELECT user_id FROM {BOUND_IDS})"""
    )
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {BOUNDED} AS
            SELECT x.a, x.b FROM {MAYBE}_names x
            JOIN {BOUND_PEOPLE} a ON a.user_id = x.a JOIN {BOUND_PEOPLE} b ON b.user_id = x.b
            {names}
            WHERE {_may_corroborate_sql(kind, False)} AND {_upper_bound_sql(kind, False)} >= {t}"""
    )
    for table in (NARROW, MAYBE, f"{MAYBE}_names", NAME_PAIRS, BOUND_IDS):
        db.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return int(db.one(f"SELECT count(*) FROM {BOUNDED}"))


def score_pairs(
    db: Database,
    kind: str,
    threshold: int = THRESHOLD,
    append: bool = False,
    best: bool = True,
    narrow: str | None = None,
    build: Callable[[str], None] | None = None,
) -> int:
    """Score the pairs of one kind; keep those at the threshold or above that the guard allows
    (the first call creates the scored table, later ones append to it). `best`: then keep only
    the best re-keyed pairs (keep_best_rekeyed); a caller that first saves every scored pair
    calls that itself."""
    target = f"INSERT INTO {SCORED}" if append else f"CREATE OR REPLACE TEMP TABLE {SCORED} AS"
    bound_pairs(db, kind, threshold, narrow, build)
    db.execute(f"{target} {scored_sql(kind, threshold, pairs=BOUNDED, people=BOUND_PEOPLE)}")
    db.execute(f"DROP TABLE IF EXISTS temp.{BOUNDED}")
    db.execute(f"DROP TABLE IF EXISTS temp.{BOUND_PEOPLE}")
    if best:
        keep_best_rekeyed(db, kind)
    return int(db.one(f"SELECT count(*) FROM {SCORED} WHERE kind = ?", [kind]))
