"""Writing source rows in bulk — 批量入库: the fast paths of an import's one transaction.

An import writes up to a million ``SourceRecord`` rows inside one transaction. Saving them
one ORM object at a time would take an hour; these writers take the rows already sealed and
placed, chunk by chunk:

- PostgreSQL: ``COPY … FROM STDIN`` straight into the table for new rows; changed rows are
  copied into a temporary table and applied with one ``UPDATE … FROM`` per chunk.
- SQLite: ``executemany`` of one ``INSERT`` / ``UPDATE`` statement per chunk.

Both write exactly the columns the ORM would (timestamps in the backend's own format, the
masked values as the JSON the ORM stores), so a bulk-written row reads back like any other.
``lookup`` finds the rows already stored under some keys, for classification (new, changed,
unchanged). ``lock`` serialises imports into one dataset (PostgreSQL advisory lock for the
transaction; SQLite's write lock is already exclusive).
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connection

from ..models import SourceRecord

# (key, region_id, region_path, row_hash, payload_cipher, masked_json, id_number_index,
#  phone_index, name_index)
NewRow = tuple
# (record id, region_id, region_path, row_hash, payload_cipher, masked_json, id_number_index,
#  phone_index, name_index)
ChangedRow = tuple
SEALED_COLUMNS = ("row_hash", "payload_cipher", "masked", "id_number_index", "phone_index",
                  "name_index")
# An arbitrary first key for pg_advisory_xact_lock(int, int): "imports into dataset N".
LOCK_NAMESPACE = 5_301


@dataclass(frozen=True)
class Existing:
    """A row already stored under a key."""

    id: int
    row_hash: str
    person_id: int | None


def lookup(dataset_id: int, keys: Sequence[str]) -> dict[str, Existing]:
    """The stored rows of ``dataset_id`` among ``keys``."""
    if not keys:
        return {}
    rows = SourceRecord.objects.filter(dataset_id=dataset_id, key__in=list(keys)).values_list(
        "key", "id", "row_hash", "person_id")
    return {key: Existing(pk, row_hash, person) for key, pk, row_hash, person in rows}


def has_rows(dataset_id: int) -> bool:
    return SourceRecord.objects.filter(dataset_id=dataset_id).exists()


def lock(dataset_id: int) -> None:
    """Hold the dataset's import lock until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, dataset_id])


class Writer:
    """Writes one import run's rows into ``SourceRecord`` (the caller holds a transaction)."""

    def __init__(self, dataset_id: int, run_id: int, observed_at: datetime.datetime) -> None:
        self.dataset_id = dataset_id
        self.run_id = run_id
        self.table = SourceRecord._meta.db_table
        self.now = connection.ops.adapt_datetimefield_value(observed_at)

    def insert(self, rows: Sequence[NewRow]) -> None:
        raise NotImplementedError

    def update(self, rows: Sequence[ChangedRow]) -> None:
        raise NotImplementedError

    def touch(self, ids: Sequence[int]) -> None:
        """Mark unchanged rows as listed again (``observed_at``) and nothing else: a dataset
        with a retention period keeps a row while its source still lists it."""
        if not ids:
            return
        self.flush()
        with connection.cursor() as cursor:
            for i in range(0, len(ids), 5000):
                part = list(ids[i:i + 5000])
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"UPDATE {self.table} SET observed_at = %s WHERE id IN ({marks})",  # noqa: S608
                    [self.now, *part])

    def flush(self) -> None:
        """Finish what is in flight, before any other statement on the connection."""

    def abort(self) -> None:
        """Give up what is in flight (the transaction is about to roll back)."""

    @contextlib.contextmanager
    def guarding(self) -> Iterator[None]:
        """While in force, any other statement on the connection (a lookup, the locate
        index's revision check, anything) first ends what is in flight: a connection in the
        middle of a COPY accepts nothing else, and would wait forever."""

        def flush_first(execute, sql, params, many, context):
            self.flush()
            return execute(sql, params, many, context)

        with connection.execute_wrapper(flush_first):
            yield


class PostgresWriter(Writer):
    TEMP = "wg_import_changed"
    INSERT_COLUMNS = ("key", "region_id", "region_path", *SEALED_COLUMNS, "dataset_id",
                      "import_run_id", "observed_at", "created_at", "updated_at")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._temp_ready = False
        self._tail = (self.dataset_id, self.run_id, self.now, self.now, self.now)
        self._cursor = None
        self._copying = None  # the open COPY's context manager
        self._copy = None

    def insert(self, rows: Sequence[NewRow]) -> None:
        """Stream new rows into one COPY kept open across chunks: the server indexes them
        while this process prepares the next ones (``flush`` ends it)."""
        if not rows:
            return
        if self._copy is None:
            sql = f"COPY {self.table} ({', '.join(self.INSERT_COLUMNS)}) FROM STDIN"
            self._cursor = connection.cursor()
            self._copying = self._cursor.cursor.copy(sql)
            self._copy = self._copying.__enter__()
        write, tail = self._copy.write_row, self._tail
        for row in rows:
            write(row + tail)

    def _end_copy(self, exc: BaseException | None) -> None:
        copying, cursor = self._copying, self._cursor
        self._copying = self._copy = self._cursor = None
        try:
            if exc is None:
                copying.__exit__(None, None, None)
            else:
                copying.__exit__(type(exc), exc, exc.__traceback__)
        finally:
            cursor.close()

    def flush(self) -> None:
        if self._copying is not None:
            self._end_copy(None)

    def abort(self) -> None:
        if self._copying is not None:
            # The COPY is abandoned (the server answers with an error): the rollback follows.
            with contextlib.suppress(Exception):
                self._end_copy(RuntimeError("import aborted"))

    def _temp(self, cursor) -> None:
        if not self._temp_ready:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {self.TEMP} (id bigint, region_id bigint, "
                "region_path varchar(400), row_hash varchar(64), payload_cipher text, "
                "masked jsonb, id_number_index varchar(64), phone_index varchar(64), "
                "name_index varchar(64)) ON COMMIT DROP")
            self._temp_ready = True
        cursor.execute(f"TRUNCATE {self.TEMP}")

    def update(self, rows: Sequence[ChangedRow]) -> None:
        if not rows:
            return
        self.flush()
        sets = ", ".join(f"{c} = t.{c}" for c in ("region_id", "region_path", *SEALED_COLUMNS))
        with connection.cursor() as cursor:
            self._temp(cursor)
            with cursor.cursor.copy(f"COPY {self.TEMP} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"UPDATE {self.table} AS s SET {sets}, observed_at = %s, updated_at = %s, "  # noqa: S608
                f"import_run_id = %s FROM {self.TEMP} AS t WHERE s.id = t.id",
                [self.now, self.now, self.run_id])


class SqliteWriter(Writer):
    def insert(self, rows: Sequence[NewRow]) -> None:
        if not rows:
            return
        columns = ("key", "region_id", "region_path", *SEALED_COLUMNS, "dataset_id",
                   "import_run_id", "observed_at", "created_at", "updated_at")
        marks = ", ".join(["%s"] * len(columns))
        tail = (self.dataset_id, self.run_id, self.now, self.now, self.now)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                [row + tail for row in rows])

    def update(self, rows: Sequence[ChangedRow]) -> None:
        if not rows:
            return
        sets = ", ".join(f"{c} = %s" for c in ("region_id", "region_path", *SEALED_COLUMNS))
        tail = (self.now, self.now, self.run_id)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {self.table} SET {sets}, observed_at = %s, updated_at = %s, "  # noqa: S608
                "import_run_id = %s WHERE id = %s",
                [row[1:] + tail + (row[0],) for row in rows])


def writer_for(dataset_id: int, run_id: int, observed_at: datetime.datetime) -> Writer:
    """The fast writer for the database in use."""
    cls = PostgresWriter if connection.vendor == "postgresql" else SqliteWriter
    return cls(dataset_id, run_id, observed_at)
