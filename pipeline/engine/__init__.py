"""Opening the DuckDB file, running the SQL files under `sql/`, and materialising models.

Every connection gets the memory limit and spill directory from the settings and is closed in
`finally`: DuckDB allows one read-write process per file, so a connection left open blocks the next
step (and, through the concurrency pool, the whole queue). Every connection also gets the shared
macros of `sql/macros.sql`.

A model is a SQL file holding one `select` (`sql/<model>.sql`, or `sql/<model>/<table>.sql` for a
table built in several steps, whose folder is named after it). How its rows are stored is decided
here, never by editing SQL text:

    create_view      create or replace view <table> as <select>   (no parameters)
    create_table     create or replace [temp] table <table> as <select>
    create_declared  the table with its declared column types, if absent (<folder>/schema.sql)
    insert_by_name   insert into <table> by name <select>
    replace_days     delete the days $start_date..$end_date, insert by name; one transaction
    replace_keys     incremental: delete the keys not kept, insert by name; one transaction
    intermediate     temp tables of a model's steps, dropped when the block succeeds
"""

from loyalty.engine.core import (
    LOCK_WAIT_SECONDS,
    SQL_DIR,
    column_types,
    columns,
    connect,
    copy_csv,
    copy_csv_parts,
    execute_file,
    execute_sql,
    held_open,
    in_transaction,
    memory_lent,
    memory_limit_bytes,
    query_file,
    query_sql,
    scalar,
    split_statements,
    sql_text,
    strip_comments,
    table_exists,
    table_kind,
    transaction,
)
from loyalty.engine.models import (
    Intermediate,
    apply_changes,
    create_declared,
    create_table,
    create_view,
    insert_by_name,
    intermediate,
    model_file,
    model_select,
    query_model,
    replace_days,
    replace_keys,
    table_of,
)

__all__ = [
    "Intermediate",
    "LOCK_WAIT_SECONDS",
    "SQL_DIR",
    "apply_changes",
    "column_types",
    "columns",
    "connect",
    "copy_csv",
    "copy_csv_parts",
    "create_declared",
    "create_table",
    "create_view",
    "execute_file",
    "execute_sql",
    "held_open",
    "in_transaction",
    "insert_by_name",
    "intermediate",
    "memory_lent",
    "memory_limit_bytes",
    "model_file",
    "model_select",
    "query_file",
    "query_model",
    "query_sql",
    "replace_days",
    "replace_keys",
    "scalar",
    "split_statements",
    "sql_text",
    "strip_comments",
    "table_exists",
    "table_kind",
    "table_of",
    "transaction",
]
