"""What each file of a drop may hold: columns, required values, enumerations and references.

The loader and the validator are driven by these tables, so a rule lives in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class ValueType(StrEnum):
    TEXT = "text"
    ID = "id"  # a sourcedId: no surrounding whitespace, no commas
    ENUM = "enum"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    ID_LIST = "id_list"  # comma-separated sourcedIds
    GRADES = "grades"
    EMAIL = "email"
    PHONE = "phone"
    LANGUAGE = "language"
    NAME_LIST = "name_list"  # comma-separated names, each one of the column's enum
    USER_IDS = "user_ids"  # {type:identifier},{type:identifier}


ORG_TYPES = ("department", "school", "district", "local", "state", "national")
USER_ROLES_11 = (
    "administrator",
    "aide",
    "guardian",
    "parent",
    "proctor",
    "relative",
    "student",
    "teacher",
)
USER_ROLES_12 = (
    *USER_ROLES_11,
    "counselor",
    "districtadministrator",
    "principal",
    "siteadministrator",
    "systemadministrator",
)
STAFF_ROLES = (
    "administrator",
    "aide",
    "proctor",
    "teacher",
    "counselor",
    "districtadministrator",
    "principal",
    "siteadministrator",
    "systemadministrator",
)
FAMILY_ROLES = ("guardian", "parent", "relative")
# Roster Sync's own users.csv extension: the columns a source has no data for on this row (a
# hub that has phones for contacts only, grades for students only). An empty cell in a column
# it names means "not known here", not "none": the record keeps its value (sync/feed/users.py).
NOT_CARRIED_COLUMN = "metadata.rosterSync.notCarried"
NOT_CARRIED_PER_ROW = ("sms", "phone", "grades", "identifier")
# Roster Sync's own users.csv extension: the sourcedId an earlier rule of the source's mapping
# gave this row's person (a Clever contact without a SIS id, once named by its e-mail alone). A
# record the directory holds under that id, and under no id of tonight's, keeps it
# (sync/derived_ids.py `keep_former_ids`): a change of rule renames nobody.
FORMER_ID_COLUMN = "metadata.rosterSync.formerSourcedId"
# How a list of names is written where a person may write it (a manifest value, the cell
# above): separated by commas, semicolons or spaces, in any mix ("sms, phone", "sms phone").
LIST_SEPARATORS = r"[,;\s]+"
ENROLLMENT_ROLES = ("administrator", "proctor", "student", "teacher", "aide")
CLASS_TYPES = ("homeroom", "scheduled")
SESSION_TYPES = ("gradingperiod", "semester", "schoolyear", "term")
STATUSES = ("active", "tobedeleted", "inactive")
ROLE_TYPES = ("primary", "secondary")
SEXES = ("male", "female", "other", "unspecified")
GRADE_CODES = (
    "IT",
    "PR",
    "PK",
    "TK",
    "KG",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "07",
    "08",
    "09",
    "10",
    "11",
    "12",
    "13",
    "PS",
    "UG",
    "Other",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: ValueType = ValueType.TEXT
    required: bool = False  # the value may not be empty
    header_required: bool | None = None  # defaults to `required`
    enum: tuple[str, ...] = ()
    max_length: int = 1024
    ext: bool = False  # OneRoster 1.2 allows proprietary `ext:` terms in this vocabulary
    # Where the drop says its source cannot fill this column (`source.notCarried` in the
    # manifest: "manifest.csv line 2"), None when it does. Such a column is read as one the
    # file lacks: its values are not read, and records keep what they have in the field.
    not_carried: str | None = None

    @property
    def must_be_in_header(self) -> bool:
        if self.not_carried is not None:
            return False
        return self.required if self.header_required is None else self.header_required


@dataclass(frozen=True)
class Reference:
    """A column whose values must name rows of another entity (in the drop or the directory)."""

    column: str
    target: str  # entity name
    severity: str = "ERROR"
    target_filter: str | None = None  # SQL over the target's staging table, e.g. role = 'student'
    what: str = ""  # how to describe the target in a message ("a student")
    # What the sync does with a WARNING's value, said after it (the row itself is synced).
    outcome: str = "ignored"
    live_only: bool = False  # a row marked tobedeleted is not checked: it ends what it names


@dataclass(frozen=True)
class FileSpec:
    entity: str  # users, classes, ...
    file_name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("sourcedId",)
    references: tuple[Reference, ...] = ()
    product_specific: bool = False
    has_status: bool = True
    # The columns naming the directory record a row speaks for (default: the key). A row the
    # reader rejects must have them readable, or the file is refused (see ingest/broken_rows.py).
    names_record: tuple[str, ...] = ()

    @property
    def record_columns(self) -> tuple[str, ...]:
        return self.names_record or self.key

    def column(self, name: str) -> Column | None:
        lowered = name.lower()
        for col in self.columns:
            if col.name.lower() == lowered:
                return col
        return None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def places_rows(self, column: Column) -> bool:
        """The column says which record a row is, what it links or places it under (a
        required id or vocabulary term), or whether it ends one: a file is not read without it,
        so a drop cannot declare it not carried. The other columns are a record's values."""
        return column.name in (*self.key, *self.record_columns, "status") or (
            column.required and column.type in (ValueType.ID, ValueType.ID_LIST, ValueType.ENUM)
        )

    def not_carrying(self, names: set[str], where: str) -> FileSpec:
        """This spec with the columns `names` marked not carried (said at `where`)."""
        columns = tuple(
            replace(c, not_carried=where) if c.name in names else c for c in self.columns
        )
        return replace(self, columns=columns)

    def read_columns(self, names: list[str]) -> set[str]:
        """The columns of a header the sync reads: all but those the drop does not carry."""
        return {n for n in names if (c := self.column(n)) is None or c.not_carried is None}


def _common(*, status_enum: tuple[str, ...] = STATUSES) -> tuple[Column, ...]:
    return (
        Column("sourcedId", ValueType.ID, required=True),
        Column("status", ValueType.ENUM, enum=status_enum),
        Column("dateLastModified", ValueType.DATETIME),
    )


ORGS = FileSpec(
    "orgs",
    "orgs.csv",
    (
        *_common(),
        Column("name", required=True),
        Column("type", ValueType.ENUM, required=True, enum=ORG_TYPES, ext=True),
        Column("identifier"),
        Column("parentSourcedId", ValueType.ID),
    ),
    references=(Reference("parentSourcedId", "orgs", "WARNING", what="an org"),),
)

ACADEMIC_SESSIONS = FileSpec(
    "academicSessions",
    "academicSessions.csv",
    (
        *_common(),
        Column("title", required=True),
        Column("type", ValueType.ENUM, required=True, enum=SESSION_TYPES, ext=True),
        Column("startDate", ValueType.DATE, required=True),
        Column("endDate", ValueType.DATE, required=True),
        Column("parentSourcedId", ValueType.ID),
        Column("schoolYear", required=True),
    ),
)

COURSES = FileSpec(
    "courses",
    "courses.csv",
    (
        *_common(),
        Column("schoolYearSourcedId", ValueType.ID),
        Column("title", required=True),
        Column("courseCode"),
        Column("grades", ValueType.GRADES),
        Column("orgSourcedId", ValueType.ID, required=True),
        Column("subjects"),
        Column("subjectCodes"),
    ),
    references=(Reference("orgSourcedId", "orgs", "WARNING", what="an org"),),
)

CLASSES = FileSpec(
    "classes",
    "classes.csv",
    (
        *_common(),
        Column("title", required=True),
        Column("grades", ValueType.GRADES),
        Column("courseSourcedId", ValueType.ID, required=True),
        Column("classCode"),
        Column("classType", ValueType.ENUM, required=True, enum=CLASS_TYPES, ext=True),
        Column("location"),
        Column("schoolSourcedId", ValueType.ID, required=True),
        Column("termSourcedIds", ValueType.ID_LIST, required=True),
        Column("subjects"),
        Column("subjectCodes"),
        Column("periods"),
    ),
    references=(
        Reference("schoolSourcedId", "orgs", what="a school in orgs.csv"),
        Reference("courseSourcedId", "courses", "WARNING", what="a course in courses.csv"),
        Reference(
            "termSourcedIds",
            "academicSessions",
            "WARNING",
            what="a session in academicSessions.csv",
        ),
    ),
)

_USER_COMMON = (
    Column("enabledUser", ValueType.BOOL, required=True),
    Column("username", required=True),
    Column("userIds", ValueType.USER_IDS, max_length=4096),
    Column("givenName", required=True),
    Column("familyName", required=True),
    Column("middleName"),
    Column("identifier"),
    Column("email", ValueType.EMAIL),
    Column("sms", ValueType.PHONE),
    Column("phone", ValueType.PHONE),
    Column("agentSourcedIds", ValueType.ID_LIST, max_length=8192),
    Column("grades", ValueType.GRADES),
    Column("password"),
)

USERS_11 = FileSpec(
    "users",
    "users.csv",
    (
        *_common(),
        Column("enabledUser", ValueType.BOOL, required=True),
        Column("orgSourcedIds", ValueType.ID_LIST, required=True, max_length=8192),
        Column("role", ValueType.ENUM, required=True, enum=USER_ROLES_11),
        *_USER_COMMON[1:],
        Column("language", ValueType.LANGUAGE),
        Column("metadata.language", ValueType.LANGUAGE),
        Column(NOT_CARRIED_COLUMN, ValueType.NAME_LIST, enum=NOT_CARRIED_PER_ROW),
        Column(FORMER_ID_COLUMN, ValueType.ID),
    ),
    references=(
        Reference("orgSourcedIds", "orgs", "WARNING", what="an org in orgs.csv"),
        Reference("agentSourcedIds", "users", "WARNING", what="a user in users.csv"),
    ),
)

USERS_12 = FileSpec(
    "users",
    "users.csv",
    (
        *_common(),
        *_USER_COMMON,
        Column("userMasterIdentifier"),
        Column("preferredGivenName"),
        Column("preferredMiddleName"),
        Column("preferredFamilyName"),
        Column("primaryOrgSourcedId", ValueType.ID),
        Column("pronouns"),
        # 1.2 moved these to roles.csv; some exporters still send them.
        Column("orgSourcedIds", ValueType.ID_LIST, max_length=8192),
        Column("role", ValueType.ENUM, enum=USER_ROLES_12, ext=True),
        Column("language", ValueType.LANGUAGE),
        Column("metadata.language", ValueType.LANGUAGE),
        Column(NOT_CARRIED_COLUMN, ValueType.NAME_LIST, enum=NOT_CARRIED_PER_ROW),
        Column(FORMER_ID_COLUMN, ValueType.ID),
    ),
    references=(
        Reference("orgSourcedIds", "orgs", "WARNING", what="an org in orgs.csv"),
        Reference("primaryOrgSourcedId", "orgs", "WARNING", what="an org in orgs.csv"),
        Reference("agentSourcedIds", "users", "WARNING", what="a user in users.csv"),
    ),
)

ROLES_12 = FileSpec(
    "roles",
    "roles.csv",
    (
        *_common(),
        Column("userSourcedId", ValueType.ID, required=True),
        Column("roleType", ValueType.ENUM, required=True, enum=ROLE_TYPES),
        Column("role", ValueType.ENUM, required=True, enum=USER_ROLES_12, ext=True),
        Column("beginDate", ValueType.DATE),
        Column("endDate", ValueType.DATE),
        Column("orgSourcedId", ValueType.ID, required=True),
        Column("userProfileSourcedId", ValueType.ID),
    ),
    names_record=("userSourcedId",),
    references=(
        Reference("userSourcedId", "users", what="a user in users.csv"),
        Reference(
            "orgSourcedId",
            "orgs",
            "WARNING",
            what="an org in orgs.csv",
            # sync/feed/users.py _roles_at_unknown_orgs (a role that ended needs no known org)
            outcome="this role is not used (its user keeps the schools and role it had)",
            live_only=True,
        ),
    ),
)

ENROLLMENTS = FileSpec(
    "enrollments",
    "enrollments.csv",
    (
        *_common(),
        Column("classSourcedId", ValueType.ID, required=True),
        Column("schoolSourcedId", ValueType.ID, required=True),
        Column("userSourcedId", ValueType.ID, required=True),
        Column("role", ValueType.ENUM, required=True, enum=ENROLLMENT_ROLES, ext=True),
        Column("primary", ValueType.BOOL),
        Column("beginDate", ValueType.DATE),
        Column("endDate", ValueType.DATE),
    ),
    references=(
        Reference("classSourcedId", "classes", what="a class in classes.csv"),
        Reference("userSourcedId", "users", what="a user in users.csv"),
        Reference("schoolSourcedId", "orgs", "WARNING", what="an org in orgs.csv"),
    ),
)

DEMOGRAPHICS = FileSpec(
    "demographics",
    "demographics.csv",
    (
        *_common(),
        Column("birthDate", ValueType.DATE),
        Column("sex", ValueType.ENUM, enum=SEXES, ext=True),
        *(
            Column(name)
            for name in (
                "americanIndianOrAlaskaNative",
                "asian",
                "blackOrAfricanAmerican",
                "nativeHawaiianOrOtherPacificIslander",
                "white",
                "demographicRaceTwoOrMoreRaces",
                "hispanicOrLatinoEthnicity",
                "countryOfBirthCode",
                "stateOfBirthAbbreviation",
                "cityOfBirth",
                "publicSchoolResidenceStatus",
            )
        ),
    ),
    references=(Reference("sourcedId", "users", "WARNING", what="a user in users.csv"),),
)

GUARDIANS = FileSpec(
    "guardians",
    "guardians.csv",
    (
        *_common(),
        Column("studentSourcedId", ValueType.ID, required=True),
        Column("relationship", ValueType.ENUM, required=True, enum=FAMILY_ROLES),
        Column("givenName", required=True),
        Column("familyName", required=True),
        Column("email", ValueType.EMAIL),
        Column("sms", ValueType.PHONE),
        Column("phone", ValueType.PHONE),
        Column("language", ValueType.LANGUAGE),
    ),
    key=("sourcedId", "studentSourcedId"),
    references=(
        Reference(
            "studentSourcedId",
            "users",
            target_filter="lower(role) = 'student'",
            what="a student in users.csv",
        ),
    ),
    product_specific=True,
)

STUDENT_ATTRIBUTES = FileSpec(
    "student_attributes",
    "student_attributes.csv",
    (
        Column("studentSourcedId", ValueType.ID, required=True),
        Column("name", required=True, max_length=64),
        Column("value", max_length=4096),
        Column("status", ValueType.ENUM, enum=STATUSES),
        Column("dateLastModified", ValueType.DATETIME),
    ),
    key=("studentSourcedId", "name"),
    references=(
        Reference(
            "studentSourcedId",
            "users",
            target_filter="lower(role) = 'student'",
            what="a student in users.csv",
        ),
    ),
    product_specific=True,
)

MANIFEST_FILE = "manifest.csv"
REQUIRED_ENTITIES = ("users", "classes", "enrollments")
IGNORED_FILES = (
    "lineitems.csv",
    "results.csv",
    "categories.csv",
    "resources.csv",
    "classresources.csv",
    "courseresources.csv",
    "userprofiles.csv",
    "scoreScales.csv".lower(),
    "assessmentLineItems.csv".lower(),
    "assessmentResults.csv".lower(),
    "lineItemLearningObjectiveIds.csv".lower(),
    "resultLearningObjectiveIds.csv".lower(),
    "scoreScaleValues.csv".lower(),
    "lineItemScoreScales.csv".lower(),  # OneRoster 1.2
    "resultScoreScales.csv".lower(),
    "userResources.csv".lower(),
)


@dataclass(frozen=True)
class FormatVersion:
    version: str
    specs: dict[str, FileSpec] = field(default_factory=dict)

    def spec_for_file(self, file_name: str) -> FileSpec | None:
        lowered = file_name.lower()
        for spec in self.specs.values():
            if spec.file_name.lower() == lowered:
                return spec
        return None

    def not_carrying(self, columns: dict[str, set[str]], where: str) -> FormatVersion:
        """This format with the columns (entity -> column names) the drop does not carry."""
        specs = {
            e: s.not_carrying(columns[e], where) if e in columns else s
            for e, s in self.specs.items()
        }
        return replace(self, specs=specs)


_BASE = {
    s.entity: s
    for s in (
        ORGS,
        ACADEMIC_SESSIONS,
        COURSES,
        CLASSES,
        ENROLLMENTS,
        DEMOGRAPHICS,
        GUARDIANS,
        STUDENT_ATTRIBUTES,
    )
}
ONEROSTER_11 = FormatVersion("1.1", {**_BASE, "users": USERS_11})
ONEROSTER_12 = FormatVersion("1.2", {**_BASE, "users": USERS_12, "roles": ROLES_12})
LOAD_ORDER = (
    "orgs",
    "academicSessions",
    "courses",
    "users",
    "roles",
    "classes",
    "enrollments",
    "demographics",
    "guardians",
    "student_attributes",
)
