"""Record linkage on a generated population: what a data steward would notice.

One population (about 4,000 records of four departments, plus a few hand-written people) is
linked once per module; the tests read that result. Linking again (determinism) happens with
the network switched off.
"""

from __future__ import annotations

import socket

import pyarrow as pa
import pytest

from wangge.linkage import ids
from wangge.linkage.config import DEFAULT_CONFIG
from wangge.linkage.decisions import Decision, Verdict
from wangge.linkage.engine import OFFLINE_SETTINGS, connect, link, recluster
from wangge.linkage.evaluate import pair_scores
from wangge.linkage.pinyin import syllables
from wangge.linkage.synthetic import RECORD_FIELDS, generate

SEED = 7
RECORDS = 4_000

# Two different people with the same name and birthday (different ID numbers, phones and
# homes), and one person whose health record has neither ID number nor birth date.
_A = ids.upgrade_15("370102800512101")  # 王伟, 1980-05-12, valid number
_B = "37010219800512135" + ids.check_char("37010219800512135")
HAND_WRITTEN = [
    {"record_id": "x-a1", "source": "police", "name": "王伟", "id_number": _A,
     "birth_date": "19800512", "sex": "男", "phone": "13905310001",
     "address": "山东省济南市历下区解放路街道和平社区经十路1号1号楼1单元101室"},
    {"record_id": "x-a2", "source": "health", "name": "王伟", "id_number": _A,
     "birth_date": "1980/5/12", "sex": "M", "phone": "139-0531-0001",
     "address": "济南市历下区解放路街道和平社区经十路1号1#1-101"},
    {"record_id": "x-b1", "source": "police", "name": "王伟", "id_number": _B,
     "birth_date": "19800512", "sex": "男", "phone": "13805319999",
     "address": "山东省济南市天桥区北坦街道幸福社区济泺路9号9号楼2单元902室"},
    {"record_id": "x-b2", "source": "hrss", "name": "王 伟", "id_number": _B,
     "birth_date": None, "sex": "1", "phone": "+86 138 0531 9999",
     "address": "天桥区北坦街道幸福社区济泺路9号9号楼2单元902室"},
    {"record_id": "x-c1", "source": "police", "name": "欧阳晓琳",
     "id_number": "37010319920304" + "204" + ids.check_char("37010319920304204"),
     "birth_date": "19920304", "sex": "女", "phone": "18653120001",
     "address": "山东省济南市市中区舜耕街道阳光社区舜耕路88号3号楼1单元501室"},
    {"record_id": "x-c2", "source": "health", "name": "欧阳晓琳", "id_number": None,
     "birth_date": None, "sex": "F", "phone": "186 5312 0001",
     "address": "济南市历城区港沟街道龙泉社区旅游路5号5#5-505"},
]
HAND_PEOPLE = {"x-a1": -1, "x-a2": -1, "x-b1": -2, "x-b2": -2, "x-c1": -3, "x-c2": -3}


def _with_hand_written(population) -> tuple[pa.Table, pa.Table]:
    extra = pa.Table.from_pylist(HAND_WRITTEN).select(list(RECORD_FIELDS)).cast(
        population.without_truth().schema)
    records = pa.concat_tables([population.without_truth(), extra])
    truth = pa.concat_tables([
        population.records.select(["record_id", "person_id"]),
        pa.table({"record_id": list(HAND_PEOPLE), "person_id": list(HAND_PEOPLE.values())})])
    return records, truth


@pytest.fixture(scope="module")
def population():
    return generate(RECORDS, seed=SEED)


@pytest.fixture(scope="module")
def linked(population):
    records, truth = _with_hand_written(population)
    return records, truth, link(records)


def test_precision_and_recall_beat_the_targets(linked):
    _records, truth, result = linked
    scores = pair_scores(result.clusters, truth)
    assert scores.true_pairs > 2_000
    assert scores.precision >= 0.99, scores
    assert scores.recall >= 0.97, scores
    assert result.records == RECORDS + len(HAND_WRITTEN)


def test_homophone_typos_are_linked(population, linked):
    """A record whose name is another character with the same pinyin joins its person."""
    _records, _truth, result = linked
    cluster = result.cluster_of()
    rows = population.records.to_pylist()
    by_person: dict[int, list[dict]] = {}
    for row in rows:
        by_person.setdefault(row["person_id"], []).append(row)
    homophone_pairs = []
    for same in by_person.values():
        for i, a in enumerate(same):
            for b in same[i + 1:]:
                na, nb = "".join(a["name"].split()), "".join(b["name"].split())
                if na != nb and syllables(na) == syllables(nb):
                    homophone_pairs.append((a["record_id"], b["record_id"]))
    assert len(homophone_pairs) >= 20
    linked_pairs = [p for p in homophone_pairs if cluster[p[0]] == cluster[p[1]]]
    assert len(linked_pairs) / len(homophone_pairs) >= 0.97


def test_same_name_and_birthday_with_different_ids_stay_apart(linked):
    _records, _truth, result = linked
    cluster = result.cluster_of()
    assert cluster["x-a1"] == cluster["x-a2"]
    assert cluster["x-b1"] == cluster["x-b2"]
    assert cluster["x-a1"] != cluster["x-b1"]


def test_a_record_without_id_is_linked_by_phone_and_name(linked):
    _records, _truth, result = linked
    cluster = result.cluster_of()
    assert cluster["x-c1"] == cluster["x-c2"]
    assert cluster["x-c1"] == "x-c1"  # the master key: the group's smallest record id


def test_review_band_sits_below_the_threshold_between_clusters(linked):
    _records, _truth, result = linked
    band = [p for p in result.review if not p.held_back]
    assert band, "expected uncertain pairs for a steward"
    cluster = result.cluster_of()
    for pair in band:
        assert DEFAULT_CONFIG.review_threshold <= pair.probability < DEFAULT_CONFIG.merge_threshold
        assert cluster[pair.record_a] != cluster[pair.record_b]
        assert set(pair.agreement) == {"name", "id_number", "birth_date", "sex", "contact"}
    # Pairs the model likes but the rules hold back say why.
    for pair in result.review:
        if pair.probability >= DEFAULT_CONFIG.merge_threshold:
            assert pair.held_back


def test_same_seed_same_answer_without_network(population, linked, monkeypatch):
    records, _truth, first = linked

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    again = link(records)
    assert again.clusters.equals(first.clusters)
    assert again.review == first.review
    assert generate(RECORDS, seed=SEED).records.equals(population.records)
    assert not generate(RECORDS, seed=SEED + 1).records.equals(population.records)


def test_duckdb_cannot_fetch_extensions():
    con = connect()
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('autoinstall_known_extensions', 'autoload_known_extensions', "
        "'allow_community_extensions', 'allow_unsigned_extensions')").fetchall())
    assert settings == {name: "false" for name in OFFLINE_SETTINGS}
    loaded = con.execute("SELECT extension_name, install_mode FROM duckdb_extensions() "
                         "WHERE loaded").fetchall()
    assert all(mode == "STATICALLY_LINKED" for _name, mode in loaded), loaded


def test_keep_apart_splits_and_revoking_restores(linked):
    _records, _truth, result = linked
    cluster = result.cluster_of()
    members: dict[str, list[str]] = {}
    for rid, cid in cluster.items():
        members.setdefault(cid, []).append(rid)
    big = next(sorted(m) for m in members.values() if len(m) >= 3)
    apart = Decision(big[0], big[-1], Verdict.KEEP_APART)

    split = recluster(result, [apart]).cluster_of()
    assert split[big[0]] != split[big[-1]]
    assert {split[r] for r in big} <= {split[big[0]], split[big[-1]]}

    restored = recluster(result, []).cluster_of()
    assert restored == cluster


def test_merge_joins_and_conflicts_are_reported(linked):
    _records, _truth, result = linked
    merged = recluster(result, [Decision("x-a1", "x-b1", Verdict.MERGE)])
    cluster = merged.cluster_of()
    assert cluster["x-a2"] == cluster["x-b2"] == "x-a1"
    # The steward changes her mind: the latest decision about a pair wins.
    undone = recluster(result, [Decision("x-a1", "x-b1", Verdict.MERGE),
                                Decision("x-b1", "x-a1", Verdict.KEEP_APART)]).cluster_of()
    assert undone["x-a1"] != undone["x-b1"]
    # A = B by decision, yet B kept apart from A's other record: reported, not silently lost.
    conflicting = recluster(result, [Decision("x-a1", "x-b1", Verdict.MERGE),
                                     Decision("x-a2", "x-b1", Verdict.MERGE),
                                     Decision("x-a1", "x-a2", Verdict.KEEP_APART)])
    assert [c.decision.record_b for c in conflicting.conflicts] == ["x-a2"]


def test_decision_about_an_unknown_record_is_refused(linked):
    _records, _truth, result = linked
    with pytest.raises(ValueError, match="unknown record_id 'nobody'"):
        recluster(result, [Decision("x-a1", "nobody", Verdict.MERGE)])
    with pytest.raises(ValueError, match="two different records"):
        recluster(result, [Decision("x-a1", "x-a1", Verdict.MERGE)])


@pytest.mark.parametrize(("rows", "message"), [
    ([{"record_id": "r1", "name": "张三"}, {"record_id": "r1", "name": "李四"}],
     "record_id: 1 value"),
    ([{"record_id": None, "name": "张三"}], "record_id: 1 record"),
    ([{"name": "张三"}], "records lack the field"),
])
def test_bad_record_ids_are_named(rows, message):
    with pytest.raises(ValueError, match=message):
        link(rows)
