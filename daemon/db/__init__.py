from daemon.db.database import Database, DatabaseLocked, sql_ident, sql_literal, temp_table

__all__ = ["Database", "DatabaseLocked", "sql_ident", "sql_literal", "temp_table"]
