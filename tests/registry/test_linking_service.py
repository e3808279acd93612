"""Linkage in the registry: rows attached by ID number, runs that map clusters to persons,
the review queue, merge / un-merge / revoke, scope, conflicts and the audit trail."""

from __future__ import annotations

import datetime
import json
import threading
from collections import defaultdict

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone, translation

from tests.factories import build_tree, make_user
from tests.registry_factories import (
    ID_A,
    ID_B,
    ID_C,
    add_record,
    make_dataset,
    make_department,
    person_from,
)
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.catalog.models import Entity
from wangge.registry.linking import attach, conflicts, runs, service
from wangge.registry.linking.errors import LinkingError
from wangge.registry.models import (
    ErasureRequest,
    LinkDecision,
    LinkRun,
    Person,
    PersonTag,
    ReviewItem,
    ReviewStatus,
    SourceRecord,
    Verdict,
)

from .linking_helpers import datasets, store_pairs, store_population

pytestmark = pytest.mark.django_db

GRID = "370102001001001"


def _persons_of(rows) -> list[int]:
    return [SourceRecord.objects.get(pk=r.pk).person_id for r in rows]


def _rows_of(person_id: int) -> set[int]:
    return set(SourceRecord.objects.filter(person_id=person_id).values_list("pk", flat=True))


def _audit(action: str) -> list[dict]:
    return [json.loads(r.detail) for r in AuditRecord.objects.filter(action=action)
            .order_by("seq")]


@pytest.fixture
def grid(tree):
    return tree[GRID]


@pytest.fixture
def sources(police, civil_affairs, hukou, district):
    return datasets(police, civil_affairs, hukou, district)


# -- attach by ID number --------------------------------------------------------------------


def test_new_rows_get_a_person_at_once_by_id_number(grid, hukou, elderly_list):
    existing = person_from(add_record(hukou, "h1", {"name": "王芳", "id_number": ID_B},
                                      region=grid))
    same = add_record(elderly_list, "e1", {"name": "王芳", "id_number": ID_B,
                                           "phone": "13900000001"}, region=grid)
    new_a = add_record(hukou, "h2", {"name": "李四", "id_number": ID_A}, region=grid)
    new_a2 = add_record(elderly_list, "e2", {"name": "李四", "id_number": ID_A}, region=grid)
    no_id = add_record(elderly_list, "e3", {"name": "赵六"}, region=grid)

    assert attach.attach_unlinked(batch=2) == 4
    assert _persons_of([same])[0] == existing.pk  # joined the person holding that number
    a, a2, lone = _persons_of([new_a, new_a2, no_id])
    assert a == a2 and a != existing.pk  # one new person for the two rows of one number
    assert lone not in (a, existing.pk)
    # Survivorship ran for the persons touched: the new phone and the 民政 tag show.
    existing.refresh_from_db()
    assert existing.phone == "139****0001"
    assert PersonTag.objects.filter(person=existing, tag__code="elderly_alone").exists()
    assert Person.objects.get(pk=lone).region_id == grid.pk
    # Counts only in the trail; nothing left to do on a second call.
    details = _audit("registry.attach")
    assert sum(d["rows"] for d in details) == 4
    assert sum(d["new_persons"] for d in details) == 2
    assert "李四" not in str(details) and ID_A not in str(details)
    assert attach.attach_unlinked() == 0


def test_rows_of_other_entities_and_anonymised_persons_are_not_attached(grid, hukou,
                                                                      civil_affairs):
    houses = make_dataset("mz-houses", civil_affairs, ("address",), entity=Entity.HOUSE,
                          required=())
    house_row = add_record(houses, "x1", {"address": "经十路1号"}, region=grid)
    gone = person_from(add_record(hukou, "h1", {"name": "王芳", "id_number": ID_B},
                                  region=grid))
    Person.objects.filter(pk=gone.pk).update(status="anonymised")
    fresh = add_record(hukou, "h2", {"name": "王芳", "id_number": ID_B}, region=grid)
    attach.attach_unlinked()
    assert _persons_of([house_row]) == [None]
    assert _persons_of([fresh])[0] not in (None, gone.pk)


IN_MEMORY_SKIP = ("SQLite's in-memory test database can't be shared by threads as workers "
                  "would share it; PostgreSQL runs this test")


@pytest.mark.django_db(transaction=True)
def test_two_workers_attaching_at_once_make_one_person_per_id_number():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(IN_MEMORY_SKIP)
    tree = build_tree()
    police = make_department("ga", "历下公安分局", tree["370102"])
    civil = make_department("mz", "历下区民政局", tree["370102"])
    a = make_dataset("ga-hukou", police)
    b = make_dataset("mz-list", civil)
    numbers = [ID_A, ID_B, ID_C]
    for i in range(60):  # 20 rows per number, spread over two datasets and many batches
        add_record(a if i % 2 else b, f"k{i}", {"name": "王芳", "id_number": numbers[i % 3]},
                   region=tree[GRID])
    workers = 2
    barrier = threading.Barrier(workers)
    counts, errors = [], []

    def work():
        try:
            barrier.wait()
            counts.append(attach.attach_unlinked(batch=3))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(counts) == 60
    assert Person.objects.count() == 3
    per_person = defaultdict(set)
    for person_id, index in SourceRecord.objects.values_list("person_id", "id_number_index"):
        per_person[person_id].add(index)
    assert all(len(indexes) == 1 for indexes in per_person.values())


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_start_one_run():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(IN_MEMORY_SKIP)
    LinkRun.objects.create(status="queued")
    LinkRun.objects.create(status="queued")
    workers = 4
    barrier = threading.Barrier(workers)
    claimed, errors = [], []

    def work():
        try:
            barrier.wait()
            run = runs.claim()
            if run is not None:
                claimed.append(run.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(claimed) == 1
    assert LinkRun.objects.filter(status="running").count() == 1


# -- a run ----------------------------------------------------------------------------------


@pytest.fixture
def linked(grid, sources, steward):
    truth = store_population(sources, grid, size=300, seed=1)
    pairs = store_pairs(sources, grid)
    run = runs.run_linkage(steward)
    return truth, pairs, run


def test_a_run_merges_what_it_should_and_queues_the_uncertain(linked):
    truth, pairs, run = linked
    assert run.status == "done" and run.records == len(truth) + 8
    # Every generated person is one master person, and no master holds two people.
    by_true = defaultdict(set)
    by_master = defaultdict(set)
    for pk, person_id in SourceRecord.objects.filter(pk__in=truth).values_list(
            "pk", "person_id"):
        by_true[truth[pk]].add(person_id)
        by_master[person_id].add(truth[pk])
    assert all(len(masters) == 1 for masters in by_true.values())
    assert all(len(people) == 1 for people in by_master.values())
    assert run.persons == len(by_true) + 3 * 2 + 1
    # The homophone typo without an ID number joined its person.
    a, b = _persons_of(pairs["homophone"])
    assert a == b
    # The three unsure pairs stay two persons each and wait for a steward.
    queued = {(i.record_a_id, i.record_b_id): i for i in ReviewItem.objects.all()}
    for name in ("twins", "typo", "namesakes"):
        x, y = pairs[name]
        assert len(set(_persons_of([x, y]))) == 2
        item = queued[(x.pk, y.pk)]
        assert item.status == ReviewStatus.OPEN and 0.5 <= item.probability < 1
    assert queued[(pairs["twins"][0].pk, pairs["twins"][1].pk)].held_back == (
        "id_number: differs")
    assert queued[(pairs["typo"][0].pk, pairs["typo"][1].pk)].agreement["name"] == (
        "one character differs")
    assert run.review == 3
    # The run is audited with counts only.
    detail = _audit("registry.link_run")[-1]
    assert detail["records"] == run.records and detail["status"] == "done"
    assert "王" not in json.dumps(detail, ensure_ascii=False)


def test_a_second_run_keeps_person_ids_and_the_queue(linked, steward):
    _truth, _pairs, _first = linked
    before = dict(SourceRecord.objects.values_list("pk", "person_id"))
    items = dict(ReviewItem.objects.values_list("pk", "status"))
    second = runs.run_linkage(steward)
    assert dict(SourceRecord.objects.values_list("pk", "person_id")) == before
    assert second.created_persons == 0
    assert dict(ReviewItem.objects.values_list("pk", "status")) == items


def test_a_run_refused_while_another_runs_and_for_non_stewards(grid, sources, steward,
                                                               handler):
    LinkRun.objects.create(status="running")
    with pytest.raises(LinkingError) as refused:
        runs.run_linkage(steward)
    assert refused.value.status == 409
    assert not LinkRun.objects.filter(status="queued").exists()
    with pytest.raises(PermissionDenied):
        runs.run_linkage(handler)
    with pytest.raises(PermissionDenied):
        runs.queue_run(handler)


def test_queue_claim_and_stale_runs(grid, sources, steward):
    run, made = runs.queue_run(steward)
    again, made_again = runs.queue_run(steward)
    assert made and not made_again and again.pk == run.pk  # a double click is one run
    assert runs.claim() is not None
    assert runs.claim() is None  # one at a time
    # A run left "running" by a stopped worker is failed, and the next one goes ahead.
    LinkRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - runs.STALE_AFTER - datetime.timedelta(minutes=1))
    nxt, _made = runs.queue_run(steward)
    assert runs.run_due() == 1
    assert LinkRun.objects.get(pk=run.pk).status == "failed"
    assert LinkRun.objects.get(pk=nxt.pk).status == "done"


def test_nightly_run_is_queued_once_a_day(grid, sources, settings):
    settings.REGISTRY_LINK_NIGHTLY_HOUR = 2
    tz = timezone.get_current_timezone()
    night = datetime.datetime(2030, 5, 1, 1, 0, tzinfo=tz)
    assert runs.queue_nightly(night) == 0  # no rows yet
    add_record(sources["police"], "h1", {"name": "王芳", "id_number": ID_B}, region=grid)
    assert runs.queue_nightly(night + datetime.timedelta(hours=2)) == 1
    assert runs.queue_nightly(night + datetime.timedelta(hours=3)) == 0  # waiting already
    LinkRun.objects.update(status="done", started_at=night + datetime.timedelta(hours=2))
    assert runs.queue_nightly(night + datetime.timedelta(hours=20)) == 0  # done today
    assert runs.queue_nightly(night + datetime.timedelta(days=1, hours=2)) == 1
    settings.REGISTRY_LINK_NIGHTLY_HOUR = None
    LinkRun.objects.all().delete()
    assert runs.queue_nightly(night + datetime.timedelta(days=2, hours=2)) == 0


def test_an_emptied_person_is_removed_unless_something_refers_to_it(grid, sources, steward,
                                                                    elderly_tag):
    values = {"name": "王芳", "id_number": ID_B, "birth_date": "1946-07-15", "sex": "女"}
    # Four persons, each holding one row of one woman: the run puts the rows together in
    # the oldest; the others are emptied.
    p1, p2, p3, p4 = (person_from(add_record(sources[s], "k1", values, region=grid))
                      for s in ("police", "civil", "health", "hrss"))
    ErasureRequest.objects.create(person=p2, reason="搬离", requested_by=steward)
    PersonTag.objects.create(person=p3, tag=elderly_tag, region_path=p3.region_path,
                             added_by=steward)  # a tag added by hand
    run = runs.run_linkage(steward)
    assert len(_rows_of(p1.pk)) == 4
    assert not Person.objects.filter(pk=p4.pk).exists()
    for kept in (p2, p3):
        kept.refresh_from_db()
        assert not _rows_of(kept.pk) and kept.name == ""  # kept, emptied, and said so
    assert run.timings["kept"] == [{"person": p2.pk, "because": "erasure_request"},
                                   {"person": p3.pk, "because": "manual_tag"}]
    assert _audit("registry.link_run")[-1]["kept"] == 2


# -- merge, split, revoke -------------------------------------------------------------------


@pytest.fixture
def two_people(grid, sources):
    """Two persons of one woman: 公安's row, and 民政's with a homophone name and no ID."""
    police = person_from(
        add_record(sources["police"], "h1", {"name": "王丽华", "id_number": ID_B,
                                             "phone": "13900000001"}, region=grid),
        add_record(sources["police"], "h2", {"name": "王丽华", "id_number": ID_B},
                   region=grid))
    civil = person_from(
        add_record(sources["civil"], "c1", {"name": "王莉华", "phone": "13900000002"},
                   region=grid),
        add_record(sources["civil"], "c2", {"name": "王莉华", "address": "经十路1号"},
                   region=grid))
    return police, civil


def test_merge_then_revoke_restores_both_persons(two_people, steward, elderly_tag):
    police, civil = two_people
    before = (_rows_of(police.pk), _rows_of(civil.pk))
    manual = PersonTag.objects.create(person=civil, tag=elderly_tag, added_by=steward,
                                      region_path=civil.region_path)
    effect = service.merge(steward, police.pk, civil.pk, "同一人，民政录入同音字")
    assert _rows_of(police.pk) == before[0] | before[1]
    assert not Person.objects.filter(pk=civil.pk).exists()
    assert PersonTag.objects.get(pk=manual.pk).person_id == police.pk  # the tag moved along
    assert effect.moved == sorted(before[1]) and effect.removed
    decision = LinkDecision.objects.get(pk=effect.decision)
    assert decision.verdict == Verdict.SAME and decision.decided_by == steward
    police.refresh_from_db()
    assert police.has_conflicts and "phone" in police.conflict_fields

    service.revoke(steward, decision.pk)
    decision.refresh_from_db()
    assert decision.revoked_at is not None and decision.revoked_by == steward
    assert _rows_of(police.pk) == before[0]
    assert _rows_of(civil.pk) == before[1]  # the same id again, with exactly its rows
    restored = Person.objects.get(pk=civil.pk)
    assert restored.name == "王*华" and restored.phone == "139****0002"
    assert PersonTag.objects.get(pk=manual.pk).person_id == civil.pk
    # Revoking again changes nothing and writes nothing.
    service.revoke(steward, decision.pk)
    assert [a for a in AuditRecord.objects.values_list("action", flat=True)
            if a.startswith("registry.")].count("registry.decision_revoked") == 1
    merge_audit = _audit("registry.merge")[0]
    assert merge_audit["moved"] == sorted(before[1])
    assert "王" not in json.dumps(merge_audit, ensure_ascii=False)


def test_split_then_revoke_puts_the_row_back(two_people, steward, police_steward):
    police, _civil = two_people
    h1, h2 = sorted(_rows_of(police.pk))
    with pytest.raises(LinkingError) as hidden:  # 公安's person: no row of 民政
        service.split(steward, h2, "误录")
    assert hidden.value.status == 404
    effect = service.split(police_steward, h2, "身份证号相同但为误录")
    assert _rows_of(police.pk) == {h1}
    assert _rows_of(effect.target) == {h2}
    apart = LinkDecision.objects.get(pk__in=effect.decisions)
    assert apart.verdict == Verdict.APART and {apart.record_a_id, apart.record_b_id} == {h1, h2}
    service.revoke(police_steward, apart.pk)
    assert _rows_of(police.pk) == {h1, h2}
    assert not Person.objects.filter(pk=effect.target).exists()
    assert _audit("registry.unmerge")[0]["row"] == h2


def test_decisions_are_honoured_by_later_runs(grid, sources, steward):
    police, civil = sources["police"], sources["civil"]
    values = {"name": "王芳", "id_number": ID_B, "birth_date": "1946-07-15"}
    rows = [add_record(police, "h1", values, region=grid),
            add_record(civil, "c1", values, region=grid),
            add_record(civil, "c2", values, region=grid),
            add_record(civil, "x1", {"name": "李四", "id_number": ID_A}, region=grid)]
    runs.run_linkage(steward)
    woman = _persons_of(rows[:1])[0]
    assert set(_persons_of(rows[:3])) == {woman}
    # Split c2 off, merge 李四 in: both survive a run that would say otherwise.
    split = service.split(steward, rows[2].pk, "另一人")
    other = _persons_of(rows[3:])[0]
    service.merge(steward, woman, other, "同一人")
    runs.run_linkage(steward)
    assert _persons_of(rows) == [woman, woman, split.target, woman]
    # Revoked, the model's answer returns at the next run.
    for d in LinkDecision.objects.filter(revoked_at__isnull=True):
        service.revoke(steward, d.pk)
    runs.run_linkage(steward)
    final = _persons_of(rows)
    assert final[0] == final[1] == final[2] and final[3] != final[0]


def test_contradicting_decisions_and_bad_input_are_refused(two_people, police_steward):
    steward = police_steward
    police, civil = two_people
    _h1, h2 = sorted(_rows_of(police.pk))
    with translation.override("en"), pytest.raises(LinkingError, match="reason"):
        service.merge(steward, police.pk, civil.pk, "  ")
    with pytest.raises(LinkingError):
        service.merge(steward, police.pk, police.pk, "同一人")
    with pytest.raises(LinkingError) as too_long:
        service.split(steward, h2, "理由" * 101)
    assert "200" in too_long.value.message
    effect = service.split(steward, h2, "误录")
    # Merging the split row's person back contradicts the keep-apart decision.
    with pytest.raises(LinkingError) as refused:
        service.merge(steward, police.pk, effect.target, "同一人")
    assert refused.value.status == 409 and str(effect.decisions[0]) in refused.value.message
    lone = Person.objects.get(pk=effect.target)
    with pytest.raises(LinkingError) as only_row:
        service.split(steward, h2, "再拆")
    assert only_row.value.status == 409 and lone.pk == effect.target


def test_scope_other_departments_and_non_stewards(tree, grid, two_people, steward,
                                                  police_steward, handler, district):
    police, civil = two_people
    # 卫健's steward: neither person holds a row of his department.
    health = make_department("wj2", "卫健局", district)
    health_steward = make_user("wj_steward", Role.STEWARD, district, health)
    with pytest.raises(LinkingError) as hidden:
        service.merge(health_steward, police.pk, civil.pk, "同一人")
    assert hidden.value.status == 404
    with pytest.raises(PermissionDenied):
        service.merge(handler, police.pk, civil.pk, "同一人")
    # A steward of another street: the rows are outside his subtree.
    far = make_user("far_steward", Role.STEWARD, tree["370102002"], steward.department)
    with pytest.raises(LinkingError):
        service.merge(far, police.pk, civil.pk, "同一人")
    # A row of the pair outside the steward's street: refused as well.
    community = make_user("west_steward", Role.STEWARD, tree["370102001001"],
                          steward.department)
    SourceRecord.objects.filter(person=police).update(
        region=tree["370102001002001"], region_path=tree["370102001002001"].path)
    with pytest.raises(LinkingError):
        service.merge(community, police.pk, civil.pk, "同一人")
    # 民政's steward decides (the pair holds his rows); the handler can't revoke.
    effect = service.merge(steward, police.pk, civil.pk, "同一人")
    assert LinkDecision.objects.get(pk=effect.decision).decided_by == steward
    with pytest.raises(PermissionDenied):
        service.revoke(handler, effect.decision)
    with pytest.raises(LinkingError) as hidden:
        service.revoke(health_steward, effect.decision)
    assert hidden.value.status == 404


def test_deciding_review_pairs(linked, steward, police_steward):
    _truth, pairs, _run = linked
    item = ReviewItem.objects.get(record_a=pairs["typo"][0], record_b=pairs["typo"][1])
    twins = ReviewItem.objects.get(record_a=pairs["twins"][0], record_b=pairs["twins"][1])
    # The twins are 公安's rows: not in 民政's steward's queue.
    with pytest.raises(LinkingError) as hidden:
        service.decide(steward, twins.pk, "apart", "双胞胎")
    assert hidden.value.status == 404
    with pytest.raises(LinkingError):
        service.decide(steward, item.pk, "maybe", "不确定")
    decision = service.decide(steward, item.pk, "same", "核实为同一人，名字录错")
    item.refresh_from_db()
    assert item.status == ReviewStatus.DECIDED and item.decision == decision
    a, b = _persons_of(pairs["typo"])
    assert a == b
    with pytest.raises(LinkingError) as twice:
        service.decide(steward, item.pk, "same", "再次")
    assert twice.value.status == 409
    twins_decision = service.decide(police_steward, twins.pk, "apart", "双胞胎，两人")
    assert len(set(_persons_of(pairs["twins"]))) == 2
    # A run later: decided items stay decided, the decisions hold.
    runs.run_linkage(steward)
    item.refresh_from_db()
    assert item.status == ReviewStatus.DECIDED
    assert len(set(_persons_of(pairs["typo"]))) == 1
    # Revoked, the merge is undone and the pair is open again.
    service.revoke(steward, decision.pk)
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN and item.decision is None
    assert len(set(_persons_of(pairs["typo"]))) == 2
    service.revoke(police_steward, twins_decision.pk)
    assert ReviewItem.objects.get(pk=twins.pk).status == ReviewStatus.OPEN


def test_pairs_no_longer_proposed_go_stale(linked, steward, police_steward):
    _truth, pairs, _run = linked
    namesakes = ReviewItem.objects.get(record_a=pairs["namesakes"][0])
    # 公安 corrects the row: now it is another person; the pair is no longer proposed.
    row = pairs["namesakes"][0]
    row.delete()
    add_record(row.dataset, row.key, {"name": "孙晓梅", "id_number": ID_C,
                                      "birth_date": "1952-01-01"}, region=row.region)
    runs.run_linkage(steward)
    assert not ReviewItem.objects.filter(pk=namesakes.pk).exists()  # gone with its row
    typo = ReviewItem.objects.get(record_a=pairs["typo"][0])
    service.decide(steward, typo.pk, "apart", "两个人")
    twins = ReviewItem.objects.get(record_a=pairs["twins"][0])
    ReviewItem.objects.filter(pk=twins.pk).update(probability=0.1)
    ReviewItem.objects.create(record_a=pairs["homophone"][0], record_b=pairs["homophone"][1],
                              probability=0.7)
    runs.run_linkage(steward)
    assert ReviewItem.objects.get(pk=typo.pk).status == ReviewStatus.DECIDED
    assert ReviewItem.objects.get(pk=twins.pk).probability > 0.5  # updated
    assert ReviewItem.objects.get(record_a=pairs["homophone"][0]).status == ReviewStatus.STALE


# -- conflicts ------------------------------------------------------------------------------


def test_conflicts_show_every_source_and_why_the_winner_won(grid, sources, steward,
                                                           police_steward):
    old = timezone.now() - datetime.timedelta(days=30)
    person = person_from(
        add_record(sources["police"], "h1", {"name": "王芳", "id_number": ID_B,
                                             "phone": "13900000001"}, region=grid,
                   observed_at=old),
        add_record(sources["civil"], "c1", {"name": "王芳", "phone": "13900000002",
                                            "address": "经十路1号"}, region=grid),
        add_record(sources["health"], "w1", {"name": "王芳", "address": "经十路2号"},
                   region=grid, observed_at=old),
        add_record(sources["hrss"], "r1", {"name": "王芳", "address": "经十路3号"},
                   region=grid))
    page, listed = conflicts.conflicts_page(steward)
    assert page.paginator.count == 1 and conflicts.count(steward) == 1
    fields = {f.code: f for f in listed[0].fields}
    assert set(fields) == {"phone", "address"}
    phone = fields["phone"].rows
    assert [r.dataset for r in phone] == ["户籍人口", "民政救助对象"]
    assert phone[0].winner and phone[0].value == "139****0001"
    assert "90" in phone[0].why  # the trust rank
    assert not phone[1].winner and "60" in phone[1].why
    address = fields["address"].rows
    # 卫健 and 人社 are equally trusted: the more recent row (人社) wins; 民政 ranks higher.
    assert address[0].dataset == "民政救助对象" and address[0].winner
    assert [r.department for r in address] == ["历下区民政局", "历下区人社局", "历下区卫健局"]
    assert all(r.value == "经十路***" for r in address)  # masked
    # The person holds a 公安 row: 公安's steward sees it too; nobody else's department.
    assert conflicts.count(police_steward) == 1
    assert person.has_conflicts


# -- runs and decisions meeting -------------------------------------------------------------


def test_a_decision_made_while_the_engine_runs_is_honoured(grid, sources, steward,
                                                           monkeypatch):
    woman = person_from(add_record(sources["police"], "h1", {"name": "王芳", "id_number": ID_B},
                                   region=grid))
    other = person_from(add_record(sources["civil"], "c1", {"name": "李四", "id_number": ID_A},
                                   region=grid))
    real = runs.link

    def merge_meanwhile(table, decisions=()):
        result = real(table, decisions=decisions)
        service.merge(steward, woman.pk, other.pk, "同一人（运行期间决定）")
        return result

    monkeypatch.setattr(runs, "link", merge_meanwhile)
    run = runs.run_linkage(steward)
    assert run.status == "done"
    # The run's own clusters said "two persons"; the merge made meanwhile stands.
    assert _rows_of(woman.pk) == set(SourceRecord.objects.values_list("pk", flat=True))
    assert not Person.objects.filter(pk=other.pk).exists()


def test_a_failing_run_is_marked_failed_and_audited(grid, sources, steward, monkeypatch):
    add_record(sources["police"], "h1", {"name": "王芳", "id_number": ID_B}, region=grid)
    add_record(sources["civil"], "c1", {"name": "王芳", "id_number": ID_B}, region=grid)

    def broken(table, decisions=()):
        raise ValueError("record_id: 1 value(s) repeated; each must be unique")

    monkeypatch.setattr(runs, "link", broken)
    with pytest.raises(ValueError):
        runs.run_linkage(steward)
    run = LinkRun.objects.get()
    assert run.status == "failed" and "repeated" in run.error and run.finished_at
    assert _audit("registry.link_run")[-1]["status"] == "failed"
    # A failed run holds nothing up: the next one runs.
    monkeypatch.undo()
    assert runs.run_linkage(steward).status == "done"


def test_the_worker_runs_attach_and_queued_runs():
    from wangge.core.jobs import JOBS

    names = {job.name: job for job in JOBS}
    assert names["registry.attach"].every_seconds <= 30
    assert "registry.link" in names
