"""One-row reads and inserts for the hottest statements, without the ORM's query building.

Intake runs a handful of statements per case, thousands of cases a minute at peak, and for
a one-row ``SELECT … WHERE code = %s`` or a plain ``INSERT`` Django spends several times
longer composing the SQL than the database spends running it. The statements here are
composed once per model from the model's own field list, so they cannot drift from the
schema, and each value goes through the field's own conversion both ways (the same
``get_db_prep_save`` on the way in, the same converters on the way out) — the rows are
exactly what ``Model.objects`` would read or write.

What they skip is what those rows do not need: no ``pre_save``/``post_save`` signals (the
models written here have no receivers), no deferred-field loading on insert, no
multi-table inheritance. Use them only on such models, and only where it is measured to
matter.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)

_reads: dict[tuple, tuple[str, list[str], list]] = {}
_inserts: dict[tuple, tuple[str, list, bool]] = {}


def _read_statement(model: type[Model], by: str, skip: tuple[str, ...], connection):
    key = (model, by, skip, connection.alias, connection.vendor)
    found = _reads.get(key)
    if found is None:
        meta, qn = model._meta, connection.ops.quote_name
        fields = [f for f in meta.concrete_fields if f.name not in skip]
        by_column = meta.get_field(by).column
        columns = ", ".join(qn(f.column) for f in fields)
        sql = (f"SELECT {columns} FROM {qn(meta.db_table)} "  # noqa: S608 -- names from _meta
               f"WHERE {qn(by_column)} = %s LIMIT 1")
        # Per column: the converters the ORM would apply, each with the column it needs.
        converters = []
        for f in fields:
            col = f.get_col(meta.db_table)
            converters.append([(convert, col) for convert in
                               connection.ops.get_db_converters(col)
                               + col.get_db_converters(connection)])
        found = (sql, [f.attname for f in fields], converters)
        _reads[key] = found
    return found


def fetch_one(model: type[M], by: str, value, *, skip: tuple[str, ...] = (),
              using: str = "default") -> M | None:
    """The row of ``model`` whose field ``by`` equals ``value`` (a unique field), or None.

    Fields named in ``skip`` (a large geometry, say) are left deferred: reading them later
    loads them as the ORM would.
    """
    connection = connections[using]
    sql, attnames, converters = _read_statement(model, by, skip, connection)
    field = model._meta.get_field(by)
    with connection.cursor() as cursor:
        cursor.execute(sql, [field.get_db_prep_value(value, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for raw, column_converters in zip(row, converters, strict=True):
        for convert, col in column_converters:
            raw = convert(raw, col, connection)
        values.append(raw)
    return model.from_db(using, attnames, values)


def insert(obj: M, using: str = "default") -> M:
    """INSERT ``obj`` as a new row and set its primary key; returns ``obj``.

    The same values ``obj.save()`` would write (``pre_save`` fills auto_now fields, then
    each field prepares its value), in one statement that returns the new key.
    """
    connection = connections[using]
    model = type(obj)
    key = (model, connection.alias, connection.vendor)
    found = _inserts.get(key)
    if found is None:
        meta, qn = model._meta, connection.ops.quote_name
        auto = meta.auto_field
        fields = [f for f in meta.local_concrete_fields if f is not auto]
        columns = ", ".join(qn(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
        if auto is not None:
            sql += f" RETURNING {qn(auto.column)}"
        found = (sql, fields, auto is not None)
        _inserts[key] = found
    sql, fields, returns_key = found
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returns_key:
            obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = using
    return obj
