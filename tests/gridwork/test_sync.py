"""Offline sync (离线同步): a phone's outbox applied once, conflicts and refusals kept for the
worker, patrol tracks deduplicated, over the page endpoint and the token API."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone, translation

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.cases.models import Case
from wangge.core.refusals import Forbidden, Invalid
from wangge.gridwork.day import patrols
from wangge.gridwork.day.sync import sync
from wangge.gridwork.models import (
    Patrol,
    SyncReceipt,
    TargetStatus,
    TaskTally,
    TaskTarget,
    TrackPoint,
    Visit,
)
from wangge.regions.geometry import distance_m

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(datetime.datetime(2026, 11, 20, 9, 0))


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def mine(user):
    return list(TaskTarget.objects.filter(region=user.region).order_by("pk"))


def fix(seconds: int, lon: float, lat: float, accuracy: float | None = 5.0) -> dict:
    return {"at": (T0 + datetime.timedelta(seconds=seconds)).isoformat(), "lon": lon,
            "lat": lat, "accuracy": accuracy}


def batch(targets, care) -> list[dict]:
    """What a phone sends after a morning offline: two targets, a visit, a case, a patrol."""
    a, b = targets[0], targets[1]
    return [
        {"key": "k-target-a-0001", "kind": "target", "base_version": a.version,
         "payload": {"target": a.pk, "status": "done",
                     "result": {"residents_present": "2", "gas_safety_hazard": "no"}}},
        {"key": "k-target-b-0001", "kind": "target",
         "payload": {"target": b.pk, "status": "unable", "note": "无人在家，三次未遇",
                     "result": {}}},
        {"key": "k-visit-0000001", "kind": "visit",
         "payload": {"person": care["wang"].pk, "tag": care["elderly"].pk,
                     "outcome": "needs_help", "visited_at": T0.isoformat(),
                     "case": {"category": "social.care", "title": "家中漏水"}}},
        {"key": "k-case-00000001", "kind": "case",
         "payload": {"category": "env.garbage", "title": "楼道堆放垃圾", "lon": 117.01,
                     "lat": 36.605}},
        {"key": "k-patrol-start1", "kind": "patrol_start",
         "payload": {"patrol": "patrol-0000001", "started_at": T0.isoformat()}},
        {"key": "k-patrol-point1", "kind": "patrol_points",
         "payload": {"patrol": "patrol-0000001",
                     "points": [fix(0, 117.0100, 36.6050), fix(60, 117.0110, 36.6050)]}},
        {"key": "k-patrol-end-01", "kind": "patrol_end",
         "payload": {"patrol": "patrol-0000001",
                     "ended_at": (T0 + datetime.timedelta(minutes=30)).isoformat()}},
    ]


def counts():
    return {"visits": Visit.objects.count(), "cases": Case.objects.count(),
            "points": TrackPoint.objects.count(), "patrols": Patrol.objects.count(),
            "done": TaskTarget.objects.exclude(status=TargetStatus.PENDING).count(),
            "receipts": SyncReceipt.objects.count()}


def test_a_batch_is_applied_once(campaign, care, help_categories, grid_worker):
    targets = mine(grid_worker)
    items = batch(targets, care)
    receipts = sync(grid_worker, items)
    assert [r.outcome for r in receipts] == ["applied"] * 7, [r.message for r in receipts]
    assert not any(r.replayed for r in receipts)
    first = counts()
    assert first == {"visits": 1, "cases": 2, "points": 2, "patrols": 1, "done": 2,
                     "receipts": 7}
    a, b = (TaskTarget.objects.get(pk=t.pk) for t in targets[:2])
    assert a.status == "done" and a.result["gas_safety_hazard"] == "no"
    assert b.status == "unable" and a.done_by == grid_worker
    patrol = Patrol.objects.get()
    assert patrol.ended_at is not None and 80 < patrol.distance_m < 100  # 0.001° lon ≈ 89 m
    assert Visit.objects.get().case is not None
    # The same batch again (the answer was lost): same receipts, nothing new written.
    again = sync(grid_worker, items)
    assert all(r.replayed for r in again)
    assert [r.outcome for r in again] == ["applied"] * 7
    assert [r.detail for r in again] == [r.detail for r in receipts]
    assert counts() == first
    tally = TaskTally.objects.get(task=campaign, region=grid_worker.region)
    assert (tally.done, tally.unable) == (1, 1)


def test_a_target_completed_meanwhile_is_a_conflict(campaign, grid_worker, community_staff):
    target = mine(grid_worker)[0]
    # Someone else (the community's staff, online) completed it first.
    other = sync(community_staff, [{"key": "staff-key-00001", "kind": "target",
                                    "payload": {"target": target.pk, "status": "done",
                                                "result": {"residents_present": "3",
                                                           "gas_safety_hazard": "yes"}}}])
    assert other[0].outcome == "applied"
    receipt = sync(grid_worker, [{"key": "late-key-000001", "kind": "target",
                                  "base_version": target.version,
                                  "payload": {"target": target.pk, "status": "done",
                                              "result": {"residents_present": "1",
                                                         "gas_safety_hazard": "no"}}}])[0]
    assert receipt.outcome == "conflict" and "west_staff" in receipt.message
    target.refresh_from_db()
    assert target.result["residents_present"] == "3" and target.done_by == community_staff
    # It stays on the worker's list until dismissed; a retry answers the same.
    from wangge.gridwork.day.sync import dismiss, open_problems

    assert [r.kind for r in open_problems(grid_worker)] == ["target"]
    assert sync(grid_worker, [{"key": "late-key-000001", "kind": "target",
                               "payload": {"target": target.pk}}])[0].replayed
    dismiss(grid_worker, "late-key-000001")
    assert not open_problems(grid_worker).exists()


def test_refused_items_write_nothing(campaign, care, grid_worker, other_grid_worker):
    target = mine(grid_worker)[0]
    before = counts()
    receipts = sync(grid_worker, [
        {"key": "bad-result-0001", "kind": "target",
         "payload": {"target": target.pk, "status": "done",
                     "result": {"residents_present": "many"}}},
        {"key": "bad-kind-000001", "kind": "selfie", "payload": {}},
        {"key": "not-mine-000001", "kind": "target",
         "payload": {"target": mine(other_grid_worker)[0].pk, "status": "done",
                     "result": {"residents_present": "1", "gas_safety_hazard": "no"}}},
        {"key": "bad-visit-00001", "kind": "visit",
         "payload": {"person": care["zhao"].pk, "tag": care["correction"].pk,
                     "outcome": "well"}},
        {"key": "x", "kind": "visit", "payload": {}},
        "not an object",
    ])
    assert [r.outcome for r in receipts] == ["refused"] * 6
    assert "residents present" in receipts[0].message and receipts[0].detail["field"] == \
        "residents_present"
    assert "Unknown kind" in receipts[1].message
    assert "No task target" in receipts[2].message
    after = counts()
    assert after["receipts"] == before["receipts"] + 4  # keyless items are not kept
    assert {k: v for k, v in after.items() if k != "receipts"} == \
        {k: v for k, v in before.items() if k != "receipts"}


def test_another_workers_patrol_cannot_be_reached(grid_worker, other_grid_worker):
    start = {"key": "start-key-00001", "kind": "patrol_start",
             "payload": {"patrol": "patrol-shared-1", "started_at": T0.isoformat()}}
    assert sync(grid_worker, [start])[0].outcome == "applied"
    points = {"key": "points-key-0001", "kind": "patrol_points",
              "payload": {"patrol": "patrol-shared-1", "points": [fix(0, 117.0, 36.6)]}}
    end = {"key": "end-key-0000001", "kind": "patrol_end",
           "payload": {"patrol": "patrol-shared-1"}}
    receipts = sync(other_grid_worker, [points, end])
    assert [r.outcome for r in receipts] == ["refused", "refused"]
    assert TrackPoint.objects.count() == 0
    assert Patrol.objects.get().ended_at is None


def test_roles_that_do_no_grid_work_are_refused(handler, tree):
    resident = make_user("resident1", Role.RESIDENT, tree["370102001001001"])
    for user in (handler, resident):
        with pytest.raises(Forbidden):
            sync(user, [])
    with pytest.raises(Invalid):
        sync(make_user("gw_x", Role.GRID_WORKER, tree["370102001001001"]), {"items": 1})


def test_track_points_dedupe_and_distance(grid_worker):
    patrol, created = patrols.start_patrol(grid_worker, key="patrol-track-1",
                                           started_at=T0.isoformat())
    assert created
    east = [fix(0, 117.000, 36.600), fix(10, 117.001, 36.600), fix(20, 117.002, 36.600)]
    assert patrols.add_points(grid_worker, key="patrol-track-1", points=east)["added"] == 3
    one_step = distance_m(117.000, 36.600, 117.001, 36.600)
    assert 88 < one_step < 91
    # The same fixes again, plus one out of order (earlier) and one inaccurate jump.
    late = [*east, fix(5, 117.0005, 36.600), fix(30, 117.050, 36.600, accuracy=800),
            fix(40, 117.003, 36.600)]
    result = patrols.add_points(grid_worker, key="patrol-track-1", points=late)
    assert result["added"] == 3
    patrol.refresh_from_db()
    assert patrol.point_count == 6 and TrackPoint.objects.count() == 6
    assert patrol.distance_m == pytest.approx(3 * one_step, rel=0.01)  # the jump is left out
    # Bad fixes are refused with what is wrong, nothing stored.
    with pytest.raises(Invalid, match="out of range"):
        patrols.add_points(grid_worker, key="patrol-track-1",
                           points=[fix(50, 200.0, 36.6)])
    with pytest.raises(Invalid, match="not a time"):
        patrols.add_points(grid_worker, key="patrol-track-1",
                           points=[{"at": "yesterday", "lon": 117.0, "lat": 36.6}])
    assert TrackPoint.objects.count() == 6
    ended = patrols.end_patrol(grid_worker, key="patrol-track-1",
                               ended_at=(T0 + datetime.timedelta(minutes=5)).isoformat())
    assert patrols.end_patrol(grid_worker, key="patrol-track-1").ended_at == ended.ended_at
    assert len(patrols.track(ended)) == 6


def test_page_endpoint_and_token_api(campaign, grid_worker, handler):
    target = mine(grid_worker)[0]
    item = {"key": "http-key-000001", "kind": "target", "base_version": target.version,
            "payload": {"target": target.pk, "status": "done",
                        "result": {"residents_present": "2", "gas_safety_hazard": "no"}}}
    page = Client(enforce_csrf_checks=True)
    page.force_login(grid_worker)
    refused = page.post("/gridwork/day/sync/", json.dumps({"items": [item]}),
                        content_type="application/json")
    assert refused.status_code == 403  # no CSRF token
    page.get("/gridwork/day/")
    token = page.cookies["csrftoken"].value
    answer = page.post("/gridwork/day/sync/", json.dumps({"items": [item]}),
                       content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 200
    assert answer.json()["receipts"][0]["outcome"] == "applied"
    # The token API, for a worker's app; the same key again is a replay.
    _, secret = issue_token(None, username=grid_worker.username, name="phone",
                            scopes=["gridwork:work"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    again = api.post("/api/v1/gridwork/day/sync", {"items": [item]},
                     content_type="application/json")
    assert again.status_code == 200 and again.json()["receipts"][0]["replayed"] is True
    today = api.get("/api/v1/gridwork/day/today").json()
    assert today["targets_total"] == 2 and target.pk not in [t["id"] for t in today["targets"]]
    _, narrow = issue_token(None, username=grid_worker.username, name="reader",
                            scopes=["gridwork:read"])
    assert Client(HTTP_AUTHORIZATION=f"Bearer {narrow}").post(
        "/api/v1/gridwork/day/sync", {"items": []},
        content_type="application/json").status_code == 403
    page.force_login(handler)
    assert page.post("/gridwork/day/sync/", "[]", content_type="application/json",
                     HTTP_X_CSRFTOKEN=token).status_code in (302, 403)


def test_starting_a_patrol_ends_one_left_open_at_its_last_fix(grid_worker):
    first = {"key": "start-key-00011", "kind": "patrol_start",
             "payload": {"patrol": "patrol-left-open", "started_at": T0.isoformat()}}
    fixes = {"key": "points-key-0011", "kind": "patrol_points",
             "payload": {"patrol": "patrol-left-open",
                         "points": [fix(0, 117.0, 36.6), fix(600, 117.001, 36.6)]}}
    later = T0 + datetime.timedelta(hours=3)
    second = {"key": "start-key-00012", "kind": "patrol_start",
              "payload": {"patrol": "patrol-next-one", "started_at": later.isoformat()}}
    assert [r.outcome for r in sync(grid_worker, [first, fixes, second])] == ["applied"] * 3
    left, current = Patrol.objects.order_by("started_at")
    # Ended at its last fix (10 minutes in), not when the next one began three hours later.
    assert left.ended_at == T0 + datetime.timedelta(seconds=600)
    assert current.ended_at is None
    # The stop the phone sends late changes nothing.
    end = {"key": "end-key-0000011", "kind": "patrol_end",
           "payload": {"patrol": "patrol-left-open", "ended_at": later.isoformat()}}
    assert sync(grid_worker, [end])[0].outcome == "applied"
    left.refresh_from_db()
    assert left.ended_at == T0 + datetime.timedelta(seconds=600)


def _jpeg(color=(200, 30, 30), size=(64, 48)) -> str:
    """A small photo as the phone keeps it: a JPEG data URL."""
    import base64
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def _report(key: str, photos) -> dict:
    return {"key": key, "kind": "case",
            "payload": {"category": "env.garbage", "title": "楼道堆放垃圾", "lon": 117.01,
                        "lat": 36.605, "photos": photos}}


def test_a_quick_report_taken_offline_brings_its_photos_once(help_categories, grid_worker):
    from wangge.cases.models import Photo

    item = _report("k-case-photos-01", [_jpeg(), _jpeg((0, 0, 200), (48, 64))])
    [receipt] = sync(grid_worker, [item])
    assert receipt.outcome == "applied", receipt.message
    case = Case.objects.get(code=receipt.detail["case"])
    photos = list(case.photos.order_by("pk"))
    assert [(p.width, p.height, p.uploaded_by) for p in photos] == [
        (64, 48, grid_worker), (48, 64, grid_worker)]
    assert receipt.detail["photos"] == 2
    # Sent again (the answer was lost): the same case, no second copy of its photos.
    [again] = sync(grid_worker, [item])
    assert again.replayed and again.detail == receipt.detail
    assert Photo.objects.count() == 2 and Case.objects.count() == 1


@pytest.mark.parametrize(("photos", "says"), [
    (["data:image/jpeg;base64,@@not-base64@@"], "photo 1 is not a base64 data URL"),
    ("one photo", "at most 3 photos"),
    ([_jpeg()] * 4, "at most 3 photos"),
    ([_jpeg(), "data:image/png;base64,aGVsbG8gd29ybGQ="], "photo 2: not a JPEG, PNG or WebP"),
])
def test_a_report_with_a_bad_photo_is_refused_and_keeps_nothing(help_categories, grid_worker,
                                                                 photos, says):
    from wangge.cases.models import Photo

    [receipt] = sync(grid_worker, [_report("k-case-bad-photo", photos)])
    assert receipt.outcome == "refused" and says in receipt.message, receipt.message
    assert Case.objects.count() == 0 and Photo.objects.count() == 0
