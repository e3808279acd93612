"""Preparing source records — 数据清洗: one spelling for every field before comparison.

Departments write the same fact differently: ``19850307``, ``1985/3/7`` and ``1985年3月7日``;
``男``, ``M`` and ``1``; ``+86 138 1234 5678``; an old 15-digit ID; ``张 伟`` with a
full-width space; ``3#2-301`` for ``3号楼2单元301室``. These are formatting, not evidence,
so they are removed here, in SQL over the whole table at once; what remains are real
differences for the model to weigh. Pinyin is added per distinct name (far fewer than rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pyarrow as pa

from wangge.linkage import ids
from wangge.linkage.pinyin import syllables

# The standard fields a source record may carry; ``record_id`` is required and unique.
STANDARD_FIELDS = ("record_id", "source", "name", "id_number", "birth_date", "sex", "phone",
                   "address")

COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "夏侯", "尉迟", "长孙",
    "端木", "公孙", "宇文", "司徒", "澹台", "呼延", "独孤",
})

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
MALE = ("男", "M", "1", "MALE")
FEMALE = ("女", "F", "2", "FEMALE")

RecordsInput = pa.Table | duckdb.DuckDBPyRelation | Iterable[Mapping[str, Any]]


def _as_arrow(records: RecordsInput) -> pa.Table:
    if isinstance(records, pa.Table):
        table = records
    elif isinstance(records, duckdb.DuckDBPyRelation):
        table = records.to_arrow_table()
    else:
        rows = list(records)
        table = pa.Table.from_pylist(rows) if rows else pa.table(
            {f: pa.array([], pa.string()) for f in STANDARD_FIELDS})
    missing = [f for f in ("record_id",) if f not in table.column_names]
    if missing:
        raise ValueError(f"records lack the field(s): {', '.join(missing)}")
    columns = {}
    for f in STANDARD_FIELDS:
        if f in table.column_names:
            columns[f] = table.column(f).cast(pa.string())
        else:
            columns[f] = pa.nulls(table.num_rows, pa.string())
    return pa.table(columns)


def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


PREPARE_SQL = f"""
CREATE OR REPLACE TABLE linkage_clean AS
WITH raw AS (
    SELECT record_id, source,
        nullif(regexp_replace(coalesce(name, ''), '[\\s\\x{{3000}}·•・]', '', 'g'), '')
            AS name,
        upper(regexp_replace(coalesce(id_number, ''), '[\\s-]', '', 'g')) AS id_raw,
        regexp_replace(coalesce(phone, ''), '\\D', '', 'g') AS phone_raw,
        try_strptime(trim(birth_date), {_sql_list(DATE_FORMATS)})::DATE AS birth_given,
        upper(trim(sex)) AS sex_raw,
        regexp_replace(coalesce(address, ''), '[\\s\\x{{3000}}]', '', 'g') AS address_raw
    FROM linkage_raw
), ids AS (
    SELECT *,
        CASE
            WHEN regexp_full_match(id_raw, '\\d{{17}}[\\dX]') THEN id_raw
            WHEN regexp_full_match(id_raw, '\\d{{15}}') THEN
                substr(id_raw, 1, 6) || '19' || substr(id_raw, 7, 9)
                || gb11643_check(substr(id_raw, 1, 6) || '19' || substr(id_raw, 7, 9))
        END AS id_number,
        -- Only an 18-character number can be checked: GB 11643's check character catches
        -- every single wrong digit and every swap of neighbours.
        CASE WHEN regexp_full_match(id_raw, '\\d{{17}}[\\dX]')
            THEN gb11643_check(left(id_raw, 17)) = right(id_raw, 1) END AS id_checked,
        CASE
            WHEN length(phone_raw) = 13 AND phone_raw LIKE '861%' THEN substr(phone_raw, 3)
            WHEN length(phone_raw) = 11 AND phone_raw LIKE '1%' THEN phone_raw
        END AS phone
    FROM raw
), addr AS (
    SELECT *,
        regexp_replace(regexp_replace(regexp_replace(
            regexp_replace(address_raw, '^(山东省)?(济南市)?', ''),
            '(\\d+)#(\\d+)-(\\d+)$', '\\1号楼\\2单元\\3室'),
            '(\\d+)#', '\\1号楼'), '^$', '') AS address_norm
    FROM ids
)
SELECT record_id, source, name, id_number, coalesce(id_checked, false) AS id_checked,
    CASE WHEN id_number IS NOT NULL
        THEN array_to_string(list_sort(string_split(left(id_number, 17), '')), '')
        END AS id_number_sorted,
    -- The ID number's birth date only when the number can be trusted: a slip in its date
    -- part would otherwise turn one wrong field into two.
    coalesce(birth_given, CASE WHEN id_checked OR length(id_raw) = 15
             THEN try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE END) AS birth_date,
    CASE
        WHEN sex_raw IN {tuple(MALE)} THEN 'M'
        WHEN sex_raw IN {tuple(FEMALE)} THEN 'F'
        WHEN (id_checked OR length(id_raw) = 15)
            THEN CASE WHEN CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END
    END AS sex,
    phone,
    CASE WHEN phone IS NOT NULL
        THEN array_to_string(list_sort(string_split(phone, '')), '') END AS phone_sorted,
    nullif(address_norm, '') AS address,
    nullif(regexp_extract(address_norm, '(?:街道|镇)(.+?社区|[^街镇]+?村)', 1), '') AS community
FROM addr
"""  # noqa: S608 — built from this module's constants only


def _pinyin_table(names: list[str | None]) -> pa.Table:
    """``name``→ pinyin of the whole name, of the surname and of the given name."""
    full, surname, given = [], [], []
    for name in names:
        syl = syllables(name or "")
        cut = 2 if name and name[:2] in COMPOUND_SURNAMES else 1
        full.append("".join(syl) or None)
        surname.append("".join(syl[:cut]) or None)
        given.append("".join(syl[cut:]) or None)
    return pa.table({"name": pa.array(names, pa.string()), "name_py": full,
                     "surname_py": surname, "given_py": given})


def prepare(con: duckdb.DuckDBPyConnection, records: RecordsInput,
            table: str = "linkage_input") -> int:
    """Load ``records`` into ``con`` as ``table`` of prepared features; return the row count.

    Raises ``ValueError`` naming the problem when ``record_id`` is missing, empty or repeated.
    """
    raw = _as_arrow(records)
    con.register("linkage_raw_arrow", raw)
    con.execute("CREATE OR REPLACE TABLE linkage_raw AS SELECT * FROM linkage_raw_arrow")
    con.unregister("linkage_raw_arrow")
    problem = con.execute("""
        SELECT count(*) FILTER (WHERE record_id IS NULL OR trim(record_id) = ''),
               count(*) - count(DISTINCT record_id) FROM linkage_raw""").fetchall()[0]
    if problem[0]:
        raise ValueError(f"record_id: {problem[0]} record(s) have none")
    if problem[1]:
        raise ValueError(f"record_id: {problem[1]} value(s) repeated; each must be unique")
    for macro in ids.DUCKDB_MACROS:
        con.execute(macro)
    con.execute(PREPARE_SQL)
    names = [r[0] for r in con.execute(
        "SELECT DISTINCT name FROM linkage_clean WHERE name IS NOT NULL").fetchall()]
    con.register("linkage_pinyin_arrow", _pinyin_table(names))
    con.execute(f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT c.record_id, c.source, c.name, p.name_py, p.surname_py, p.given_py,
               c.id_number, c.id_checked, c.id_number_sorted, c.birth_date, c.sex, c.phone,
               c.phone_sorted,
               c.address, c.community
        FROM linkage_clean c LEFT JOIN linkage_pinyin_arrow p USING (name)
        ORDER BY c.record_id""")  # noqa: S608 — ``table`` is the caller's constant
    con.unregister("linkage_pinyin_arrow")
    con.execute("DROP TABLE linkage_clean")
    con.execute("DROP TABLE linkage_raw")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]  # noqa: S608
