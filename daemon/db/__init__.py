from daemon.db.database import (
    Database,
    DatabaseLocked,
    DatabaseUnusable,
    drop_run_tables,
    drop_temp_tables,
    rows_sharing_a_hash,
    sql_ident,
    sql_literal,
    temp_table,
)
from daemon.db.migrate import NotRosterSyncDatabase, SchemaTooNew

__all__ = [
    "Database",
    "DatabaseLocked",
    "DatabaseUnusable",
    "NotRosterSyncDatabase",
    "SchemaTooNew",
    "drop_run_tables",
    "drop_temp_tables",
    "rows_sharing_a_hash",
    "sql_ident",
    "sql_literal",
    "temp_table",
]
