"""What makes one value valid, per value type: a condition and a message, both in SQL.

Staging values are already trimmed, with empty values as NULL, so a rule only looks at values
that are there. Each rule is written to be cheap on clean data (exact comparisons first).
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.db import sql_literal
from daemon.formats.spec import GRADE_CODES, LIST_SEPARATORS, Column, ValueType
from daemon.ingest.issues import ERROR, WARNING

LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"
# A phone number as SIS exports write them: digits with the usual separators, a leading +, and
# an extension ('(555) 010-1234 x12', '+44 20 7946 0958', '555-0101 ext. 12', '555-0101 #12').
PHONE_PATTERN = r"(?i)[+]?[0-9 ().x/-]{7,30}((ext\.?|extension|#) ?[0-9]{1,8})?"
# What the sync does with a value that breaks a WARNING rule of a typed column: it is not used,
# and a record that has a value keeps it (see PlanContext.broken).
NOT_USED = "; ignored (a stored value is kept)"
# A userIds cell as the CSV binding writes it: `{type:identifier}` entries separated by commas.
# The binding defines no escaping, so what an entry cannot carry unambiguously is refused: a
# brace (it would end or start an entry), a comma (a reader that splits the list at its commas,
# as it does every list column, would cut the entry), a colon in the type (which colon ends it
# could not be told). The identifier may hold colons: the first colon ends the type, so URNs and
# `domain:name` identifiers read back as they were. `[]` (an empty list as some exports write it)
# names none, and is taken as sent.
_USER_ID_ENTRY = r"\{\s*[^{}:,\s][^{}:,]*:\s*[^{},\s][^{},]*\}"
USER_IDS_PATTERN = rf"{_USER_ID_ENTRY}(\s*,\s*{_USER_ID_ENTRY})*"
ISO_DATETIME_PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
# Characters an identifier must not hold, as ranges of code points: what Unicode says shows
# nothing or moves text, so that one id can pass for another. Derived from the Unicode data
# (14.0, Python 3.11's unicodedata), and proved to be exactly that set over every code point by
# tests/ingest/test_control_characters.py: the controls (Cc: C0, DEL, C1, NUL among them), the
# format characters (Cf: zero-width characters, the byte-order mark, soft hyphen, the bidi
# marks, embeddings, overrides and isolates such as U+202E, which can make 'stu-1<RLO>9'
# display as another id, tags), every space but the ASCII one ('stu-1003' then a no-break space
# looks exactly like 'stu-1003', and trimming removes only ASCII spaces), and the rest of
# Unicode's Default_Ignorable_Code_Point (combining grapheme joiner, Hangul fillers, variation
# selectors, the reserved ranges kept for more of them).
INVISIBLE_IN_ID_RANGES = (
    (0x0000, 0x001F), (0x007F, 0x00A0), (0x00AD, 0x00AD), (0x034F, 0x034F),
    (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x1680, 0x1680),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2000, 0x200F), (0x2028, 0x202F),
    (0x205F, 0x206F), (0x3000, 0x3000), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip


def _character_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """A character class both Python's `re` and DuckDB's RE2 read alike: ASCII written as an
    escape (`\\x00`: no NUL or other control in SQL text), the rest as the characters (past
    U+00FF, the two share no escape)."""

    def one(code: int) -> str:
        return f"\\x{code:02x}" if code < 0x80 else chr(code)

    return "[" + "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for a, b in ranges) + "]"


INVISIBLE_IN_ID_PATTERN = _character_class(INVISIBLE_IN_ID_RANGES)


def visible_text(col: str) -> str:
    """SQL: the value as it looks, without the characters above and the spaces around it (NULL
    when nothing is left). What a row in error names (PlanContext.errored): the record that
    looks like it is kept. And what a required value shows (`required_rule`)."""
    return (
        f"nullif(trim(regexp_replace({col}, {sql_literal(INVISIBLE_IN_ID_PATTERN)}, '', 'g')), '')"
    )


def listed_names(col: str) -> str:
    """SQL: the names a list cell holds, in lower case (commas, semicolons or spaces between
    them, in any mix: LIST_SEPARATORS)."""
    return (
        f"list_filter(regexp_split_to_array(lower({col}), {sql_literal(LIST_SEPARATORS)}), "
        "lambda n: n <> '')"
    )


@dataclass(frozen=True)
class Rule:
    severity: str
    rule: str
    where: str  # SQL condition: the value breaks the rule
    message: str  # SQL expression, prefixed later with '<file> line <n>: '


EXT_TERM_PATTERN = r"^ext:[A-Za-z0-9.\-_]+$"  # OneRoster 1.2: a proprietary vocabulary term


def required_rule(column: Column, col: str) -> Rule:
    """A required value that is empty, or that shows nothing once the characters above are
    removed (a lone zero-width space or TAB: a blank on every screen), is missing: an ERROR,
    so the row is skipped and the record it names kept. A value whose first character is
    visible ASCII, as nearly every one's is, shows something: no pattern is run for it."""
    name = column.name
    shows_nothing = (
        f"CASE WHEN {col} IS NULL THEN true WHEN unicode({col}) BETWEEN 33 AND 126 THEN false "
        f"ELSE {visible_text(col)} IS NULL END"
    )
    return Rule(
        ERROR,
        "required",
        shows_nothing,
        f"CASE WHEN {col} IS NULL THEN '{name} is required' "
        f"ELSE '{name} is required; its value holds only invisible characters' END",
    )


def value_rule(column: Column, col: str, *, ext_terms: bool = False) -> Rule | None:
    """The type rule of a column (`col` is its quoted SQL name), or None for free text."""
    name = column.name
    shown = f"'{name} ''' || {col} || ''''"
    filled = f"{col} IS NOT NULL"
    severity = ERROR if column.required else WARNING
    not_used = "" if column.required else NOT_USED
    t = column.type
    if t is ValueType.ENUM:
        allowed = ", ".join(sql_literal(v.lower()) for v in column.enum)
        extensible = ext_terms and column.ext
        where = f"{filled} AND {col} NOT IN ({allowed}) AND lower({col}) NOT IN ({allowed})"
        if extensible:
            where += f" AND NOT regexp_full_match({col}, {sql_literal(EXT_TERM_PATTERN)})"
        return Rule(
            WARNING if name == "sex" else ERROR,
            "enumeration",
            where,
            f"{shown} || ' is not one of: {', '.join(column.enum)}{', or an ext: term' if extensible else ''}'",
        )
    if t is ValueType.BOOL:
        return Rule(
            severity,
            "boolean",
            f"{filled} AND {col} NOT IN ('true', 'false') AND lower({col}) NOT IN ('true', 'false')",
            f"{shown} || ' must be true or false{not_used}'",
        )
    if t is ValueType.DATE:
        return Rule(
            severity,
            "date",
            f"{filled} AND (strlen({col}) <> 10 OR try_cast({col} AS DATE) IS NULL)",
            f"{shown} || ' is not a date in the form YYYY-MM-DD{not_used}'",
        )
    if t is ValueType.DATETIME:
        # Informational only (ignored when wrong). The spec's form is a full ISO 8601 date-time
        # (2026-11-01T06:00:00Z); a date alone or a space for the T is read, with a warning.
        full = f"regexp_full_match({col}, {sql_literal(ISO_DATETIME_PATTERN)})"
        return Rule(
            WARNING,
            "datetime",
            f"{filled} AND NOT ({col} LIKE '____-__-__T__:__%' AND {full})",
            f"CASE WHEN regexp_full_match({col}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') "
            f"THEN {shown} || ' is a date without a time; read as midnight UTC' "
            f"WHEN regexp_full_match({col}, '\\d{{4}}-\\d{{2}}-\\d{{2}} \\d{{2}}:.*') "
            f"THEN {shown} || ' separates date and time with a space instead of T' "
            f"ELSE {shown} || ' is not an ISO 8601 date-time; ignored' END",
        )
    if t is ValueType.EMAIL:
        return Rule(
            WARNING,
            "email",
            f"{filled} AND ({col} NOT LIKE '%_@_%._%' OR {col} LIKE '%@%@%' "
            f"OR {col} LIKE '% %' OR {col} LIKE '%,%')",
            f"{shown} || ' does not look like an email address{NOT_USED}'",
        )
    if t is ValueType.PHONE:
        return Rule(
            WARNING,
            "phone",
            f"{filled} AND NOT regexp_full_match({col}, {sql_literal(PHONE_PATTERN)})",
            f"{shown} || ' does not look like a phone number{NOT_USED}'",
        )
    if t is ValueType.LANGUAGE:
        return Rule(
            WARNING,
            "language",
            f"{filled} AND NOT regexp_full_match({col}, {sql_literal(LANGUAGE_PATTERN)})",
            f"{shown} || ' is not a language code such as en or es{NOT_USED}'",
        )
    if t is ValueType.GRADES:
        codes = ", ".join(sql_literal(g.lower()) for g in GRADE_CODES)
        return Rule(
            WARNING,
            "grades",
            f"{filled} AND list_bool_or(list_transform(string_split({col}, ','), "
            f"lambda g: lower(trim(g)) NOT IN ({codes})))",
            f"{shown} || ' holds a value that is not a grade code (KG, 01-13, PK, ...){NOT_USED}'",
        )
    if t is ValueType.NAME_LIST:
        # A cell that cannot be read whole may have meant any of the names: it is read as
        # naming them all, so no value its row meant to keep is lost (feed/users.py).
        allowed = ", ".join(sql_literal(v.lower()) for v in column.enum)
        names = ", ".join(column.enum)
        either = f"{', '.join(column.enum[:-1])} or {column.enum[-1]}"
        unknown = f"list_filter({listed_names(col)}, lambda n: n NOT IN ({allowed}))"
        return Rule(
            WARNING,
            "names",
            f"{filled} AND len({unknown}) > 0",
            f"{shown} || ' holds ' || array_to_string({unknown}, ', ') || ', which is not one of "
            f"{names}; the cell is read as naming them all (an empty {either} "
            "cell of this row keeps the record''s value)'",
        )
    if t is ValueType.USER_IDS:
        return Rule(
            WARNING,
            "user_ids",
            f"{filled} AND {col} <> '[]' AND NOT regexp_full_match({col}, "
            f"{sql_literal(USER_IDS_PATTERN)})",
            f"{shown} || ' is not a list of {{type:identifier}} entries (an entry holds a brace, "
            "a comma, a colon in its type, or no identifier), so it cannot be read back as it "
            f"was meant{NOT_USED}'",
        )
    if t is ValueType.ID:
        return Rule(
            ERROR,
            "identifier",
            f"contains({col}, ',') AND {filled}",
            f"{shown} || ' may not contain a comma'",
        )
    return None
