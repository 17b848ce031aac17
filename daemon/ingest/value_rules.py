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
# What the sync does with a value that breaks a WARNING rule of a typed column: it is not used,
# and a record that has a value keeps it (see PlanContext.broken).
NOT_USED = "; ignored (a stored value is kept)"
ISO_DATETIME_PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
# Characters an identifier must not hold: C0/C1 controls, zero-width characters and the byte-order
# mark, the bidirectional controls (an override can make 'stu-1<RLO>9' display as another id),
# and the spaces that are not the ASCII one (no-break, thin, ideographic...): 'stu-1003' followed
# by a no-break space looks exactly like 'stu-1003', and trimming removes only ASCII spaces.
INVISIBLE_IN_ID_PATTERN = (
    "[\x01-\x1f\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2069\u3000\ufeff]"
)


def visible_id(col: str) -> str:
    """SQL: the id as it looks, without the characters above and the spaces around it. What a
    row in error names (PlanContext.errored): the record that looks like it is kept."""
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
            f"{shown} || ' does not look like an email address'",
        )
    if t is ValueType.PHONE:
        return Rule(
            WARNING,
            "phone",
            f"{filled} AND NOT regexp_full_match({col}, '[+]?[0-9 ().x/-]{{7,30}}')",
            f"{shown} || ' does not look like a phone number'",
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
            f"{shown} || ' holds a value that is not a grade code (KG, 01-13, PK, ...)'",
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
    if t is ValueType.ID:
        return Rule(
            ERROR,
            "identifier",
            f"contains({col}, ',') AND {filled}",
            f"{shown} || ' may not contain a comma'",
        )
    return None
