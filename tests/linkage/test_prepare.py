"""Formatting is not evidence: the same facts in each department's spelling compare equal."""

from __future__ import annotations

import pyarrow as pa
import pytest

from wangge.linkage import ids
from wangge.linkage.engine import connect
from wangge.linkage.evaluate import pair_scores
from wangge.linkage.pinyin import syllables
from wangge.linkage.prepare import prepare
from wangge.linkage.synthetic import generate


def _prepared(rows: list[dict]) -> dict[str, dict]:
    con = connect(threads=1)
    prepare(con, rows)
    cur = con.execute("SELECT * FROM linkage_input")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def test_each_departments_spelling_gives_the_same_features():
    number = "11010519491231002X"
    rows = [
        {"record_id": "a", "name": "张伟", "id_number": number, "birth_date": "19491231",
         "sex": "女", "phone": "13812345678",
         "address": "山东省济南市历下区解放路街道和平社区经十路1号3号楼2单元301室"},
        {"record_id": "b", "name": " 张\u3000伟 ", "id_number": "11010519491231002x",
         "birth_date": "1949年12月31日", "sex": "2", "phone": "+86 138 1234 5678",
         "address": "济南市历下区解放路街道和平社区经十路1号3#2-301"},
        {"record_id": "c", "name": "张 伟", "id_number": "110105491231002",
         "birth_date": None, "sex": None, "phone": "138-1234-5678",
         "address": "历下区解放路街道和平社区经十路1号3号楼2单元301室"},
    ]
    got = _prepared(rows)
    for key in ("name", "name_py", "id_number", "birth_date", "sex", "phone", "address",
                "community"):
        assert got["a"][key] == got["b"][key] == got["c"][key], key
    assert got["a"]["id_number"] == number
    assert got["a"]["name_py"] == "zhangwei"
    assert got["a"]["community"] == "和平社区"
    assert str(got["c"]["birth_date"]) == "1949-12-31"  # from the upgraded ID number
    assert got["a"]["sex"] == "F"  # also what the ID number says for "c"
    assert got["a"]["id_checked"] and got["b"]["id_checked"]
    assert not got["c"]["id_checked"]  # an old 15-digit number carries no check character


def test_unusable_values_become_missing_not_wrong():
    got = _prepared([{"record_id": "x", "name": "  ", "id_number": "12345",
                      "birth_date": "not a date", "sex": "?", "phone": "0531-8888888",
                      "address": ""}])["x"]
    assert [got[k] for k in ("name", "id_number", "birth_date", "sex", "phone", "address")] \
        == [None] * 6


def test_gb11643_check_character():
    assert ids.check_char("11010519491231002") == "X"
    assert ids.is_valid("11010519491231002X")
    assert not ids.is_valid("11010519491231003X")
    assert not ids.is_valid("11010591491231002X")  # neighbours swapped: caught
    assert ids.upgrade_15("110105491231002") == "11010519491231002X"
    with pytest.raises(ValueError):
        ids.check_char("1234")


def test_compound_surnames_and_pinyin():
    got = _prepared([{"record_id": "o", "name": "欧阳晓琳"}])["o"]
    assert (got["surname_py"], got["given_py"]) == ("ouyang", "xiaolin")
    assert syllables("张伟") == syllables("章玮") == ["zhang", "wei"]


def test_generated_people_have_valid_numbers_and_a_kept_truth():
    population = generate(500, seed=3)
    assert population.records.num_rows == 500
    rows = population.records.to_pylist()
    full = [r["id_number"].upper() for r in rows if r["id_number"] and len(r["id_number"]) == 18]
    assert sum(ids.is_valid(n) for n in full) / len(full) > 0.97  # the rest: transpositions
    assert {r["source"] for r in rows} == {"police", "civil", "health", "hrss"}
    assert all(r["record_id"].startswith(r["source"] + "-") for r in rows)
    assert "person_id" not in population.without_truth().column_names


def test_pair_scores_count_pairs_not_records():
    clusters = pa.table({"record_id": ["a", "b", "c", "d"], "cluster_id": ["a", "a", "a", "d"]})
    truth = pa.table({"record_id": ["a", "b", "c", "d"], "person_id": [1, 1, 2, 2]})
    scores = pair_scores(clusters, truth)
    assert (scores.true_pairs, scores.predicted_pairs, scores.correct_pairs) == (2, 3, 1)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(1 / 2)


def test_a_duckdb_relation_is_accepted_and_extra_fields_ignored():
    source = connect(threads=1)
    relation = source.sql("SELECT 'r' || i AS record_id, '张伟' AS name, 'secret' AS note "
                          "FROM range(3) t(i)")
    con = connect(threads=1)
    assert prepare(con, relation) == 3
    columns = [d[0] for d in con.execute("SELECT * FROM linkage_input LIMIT 0").description]
    assert "note" not in columns
    assert "name_py" in columns


def test_a_number_that_fails_its_check_says_nothing_about_birth_or_sex():
    got = _prepared([{"record_id": "t", "id_number": "11010519492131002X"}])["t"]  # 12↔21
    assert got["id_number"] == "11010519492131002X"  # kept: it is compared as a slip
    assert not got["id_checked"]
    assert got["birth_date"] is None and got["sex"] is None
