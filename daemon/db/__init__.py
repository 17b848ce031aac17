from daemon.db.database import (
    Database,
    DatabaseLocked,
    DatabaseUnusable,
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
    "sql_ident",
    "sql_literal",
    "temp_table",
]
