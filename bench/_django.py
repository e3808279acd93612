"""Bench helpers shared by the benchmarks that run Django in-process (dashboard, campaign):
a fresh database (an SQLite file, or a PostgreSQL database dropped and created anew), Django
set up on it, management commands with their output captured, and human lines to stderr."""

from __future__ import annotations

import io
import os
import sys
import warnings
from pathlib import Path

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def setup(db: str, workdir: Path, pg_database: str, *, reuse: bool = False) -> None:
    """Point Django at a fresh database under ``workdir`` (or ``pg_database``; ``reuse``
    keeps an existing PostgreSQL one) and set it up."""
    warnings.filterwarnings("ignore", message="No directory at")
    if db == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        if not reuse:
            import psycopg

            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {pg_database} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {pg_database}")
        url = f"{PG_SERVER}/{pg_database}"
    os.environ.update(DATABASE_URL=url, WANGGE_VAR_DIR=str(workdir / "var"),
                      DJANGO_SETTINGS_MODULE="wangge.config.settings", WANGGE_DEBUG="0")
    import django

    django.setup()


def command(*args: str) -> str:
    """A management command's output (stdout and stderr together)."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def bulk_insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """One chunk of rows: COPY on PostgreSQL, one executemany in one transaction on SQLite."""
    from django.db import connection, transaction

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(columns))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                           f"VALUES ({marks})", rows)
