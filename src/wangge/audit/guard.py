"""Database triggers that refuse UPDATE, DELETE and TRUNCATE of audit records.

The hash chain *detects* tampering; these triggers *prevent* the casual kind. Someone with
the privilege to drop them can still try, and ``audit verify`` will name what they changed.
"""

from __future__ import annotations

from django.db import connection as default_connection

SQLITE_INSTALL = [
    """CREATE TRIGGER IF NOT EXISTS audit_record_no_update BEFORE UPDATE ON audit_auditrecord
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_record_no_delete BEFORE DELETE ON audit_auditrecord
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_record_no_update",
    "DROP TRIGGER IF EXISTS audit_record_no_delete",
]
POSTGRES_INSTALL = [
    """CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit records are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER audit_record_no_change BEFORE UPDATE OR DELETE
       ON audit_auditrecord FOR EACH ROW EXECUTE FUNCTION audit_record_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_auditrecord
       FOR EACH STATEMENT EXECUTE FUNCTION audit_record_append_only()""",
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_record_no_change ON audit_auditrecord",
    "DROP TRIGGER IF EXISTS audit_record_no_truncate ON audit_auditrecord",
]

_INSTALL = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRES_INSTALL}
_REMOVE = {"sqlite": SQLITE_REMOVE, "postgresql": POSTGRES_REMOVE}


def _run(statements: dict[str, list[str]], connection) -> None:
    connection = connection or default_connection
    with connection.cursor() as cur:
        for sql in statements.get(connection.vendor, []):
            cur.execute(sql)


def install_guard(connection=None) -> None:
    _run(_INSTALL, connection)


def remove_guard(connection=None) -> None:
    """Only for maintenance that must empty the table (the test suite's flush)."""
    _run(_REMOVE, connection)
