from daemon.db.database import Database, DatabaseLocked, sql_ident, sql_literal, temp_table
from daemon.db.migrate import SchemaTooNew

__all__ = [
    "Database",
    "DatabaseLocked",
    "SchemaTooNew",
    "sql_ident",
    "sql_literal",
    "temp_table",
]
