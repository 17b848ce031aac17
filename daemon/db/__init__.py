from daemon.db.database import (
    Database,
    DatabaseLocked,
    DatabaseUnusable,
    rows_sharing_a_hash,
    sql_ident,
    sql_literal,
    temp_table,
)
from daemon.db.migrate import SchemaTooNew

__all__ = [
    "Database",
    "DatabaseLocked",
    "DatabaseUnusable",
    "SchemaTooNew",
    "rows_sharing_a_hash",
    "sql_ident",
    "sql_literal",
    "temp_table",
]
