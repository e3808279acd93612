"""Intake: placing, numbering, masking, idempotency, sources, self-handling, photos."""

from __future__ import annotations

import re
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from tests.cases.conftest import (
    EAST_GRID,
    IN_WEST,
    OUTSIDE,
    WEST_GRID,
    jpeg_bytes,
)
from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.cases.models import Case, CaseEvent, Photo
from wangge.cases.services import (
    CaseConflict,
    CaseForbidden,
    CaseInput,
    CaseInvalid,
    PhotoTooLarge,
    PhotoUnsupported,
    add_photo,
    mask_phone,
    submit_case,
)
from wangge.cases.services.photos import photo_root
from wangge.cases.workflow import State
from wangge.regions.crs import to_wgs84, wgs84_to_gcj02

pytestmark = pytest.mark.django_db


def _input(**kw) -> CaseInput:
    data = {"category": "env.garbage", "title": "路边垃圾堆放", "lon": IN_WEST[0],
            "lat": IN_WEST[1], "crs": "wgs84", **kw}
    return CaseInput(**data)


def test_a_resident_report_lands_in_its_grid_with_a_code_timeline_and_audit(people,
                                                                             categories):
    case, created = submit_case(people.resident, _input(contact_phone="138 1234 5678"))
    assert created
    assert re.fullmatch(rf"WG{timezone.localdate():%Y%m%d}\d{{6}}", case.code)
    assert (case.state, case.source, case.region.code) == (State.REPORTED, "resident", WEST_GRID)
    assert case.region_path == case.region.path and case.step == "register"
    assert case.reporter == people.resident
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.to_state, event.actor_name) == ("report", "reported",
                                                                "resident_w")
    assert event.detail["grid"] == WEST_GRID
    audit = AuditRecord.objects.filter(action="cases.report").get()
    assert audit.object_id == str(case.pk) and case.code in audit.detail


def test_the_contact_number_is_stored_masked_and_nowhere_raw(people, categories):
    case, _ = submit_case(people.resident, _input(contact_phone="13812345678"))
    assert case.reporter_contact_masked == "138****5678"
    stored = Case.objects.filter(pk=case.pk).values().get()
    assert not any("13812345678" in str(v) for v in stored.values())
    assert not any("13812345678" in r.detail for r in AuditRecord.objects.all())
    assert not any("13812345678" in str(e.detail) for e in CaseEvent.objects.all())


@pytest.mark.parametrize(("raw", "masked"), [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678", "138****5678"),
    ("0531-88881234", "053*****1234"),
    ("88881234", "****1234"),
    ("12345", "***45"),
    ("", ""),
])
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize("bad", ["call me", "1234", "138123456789012345", "138#1234"])
def test_mask_phone_refuses_what_is_not_a_number(bad):
    with pytest.raises(CaseInvalid, match="contact_phone"):
        mask_phone(bad)


def test_codes_are_unique_and_sequential_within_the_day(people, categories):
    first, _ = submit_case(people.resident, _input())
    second, _ = submit_case(people.grid_worker, _input(title="另一处"))
    assert int(second.code[-6:]) == int(first.code[-6:]) + 1
    assert first.code[:10] == second.code[:10]


def test_a_gcj02_point_is_converted_before_it_is_located(people, categories):
    wgs = (117.017, 36.605)  # west community, close to the east edge
    gcj = wgs84_to_gcj02(*wgs)
    assert gcj[0] > 117.02, "precondition: read as WGS-84 the numbers would be in the east"
    case, _ = submit_case(people.resident, _input(lon=gcj[0], lat=gcj[1], crs="GCJ-02"))
    assert case.region.code == WEST_GRID
    assert (case.lon, case.lat) == pytest.approx(to_wgs84(gcj[0], gcj[1], "gcj02"), abs=1e-9)
    assert (case.lon, case.lat) == pytest.approx(wgs, abs=1e-7)


def test_a_point_needs_its_coordinate_system_named(people, categories):
    with pytest.raises(CaseInvalid, match="crs: say which coordinate system") as err:
        submit_case(people.resident, _input(crs=None))
    assert err.value.field == "crs" and err.value.status == 422
    with pytest.raises(CaseInvalid, match="unknown coordinate system 'mars'"):
        submit_case(people.resident, _input(crs="mars"))
    with pytest.raises(CaseInvalid, match="give both"):
        submit_case(people.resident, _input(lat=None))
    with pytest.raises(CaseInvalid, match="not a longitude/latitude"):
        submit_case(people.resident, _input(lon=500.0))
    with pytest.raises(CaseInvalid, match="location: give a map point"):
        submit_case(people.resident, _input(lon=None, lat=None))
    assert not Case.objects.exists()


def test_a_point_outside_every_grid_is_filed_at_the_reporters_node(people, categories):
    case, _ = submit_case(people.grid_worker, _input(lon=OUTSIDE[0], lat=OUTSIDE[1]))
    assert case.region.code == WEST_GRID  # the grid worker's own grid
    event = CaseEvent.objects.get(case=case)
    assert "lies in no grid; filed at the reporter's node" in event.note
    assert event.detail["filed_at_actor_node"] == WEST_GRID and event.detail["outside_grids"]


def test_a_point_just_outside_a_grid_offers_the_nearest(people, categories):
    case, _ = submit_case(people.staff, _input(lon=117.0415, lat=36.605))  # ~130 m east
    event = CaseEvent.objects.get(case=case)
    assert case.region.code == "370102001001"  # the staff's community
    assert event.detail["nearest"]["code"] == "370102001002001"
    assert "offered" in event.note
    # Accepting the offer: the reporter names the grid.
    named, _ = submit_case(people.staff, _input(lon=117.0415, lat=36.605,
                                                grid="370102001002001"))
    assert named.region.code == "370102001002001"


def test_unplaceable_reports_are_refused_with_what_to_add(people, categories):
    floating = make_user("resident_nowhere", Role.RESIDENT, None)
    with pytest.raises(CaseInvalid, match="bound to no node"):
        submit_case(floating, _input(lon=OUTSIDE[0], lat=OUTSIDE[1]))
    with pytest.raises(CaseInvalid, match="the point lies in grid 370102001001001, not"):
        submit_case(people.resident, _input(grid=EAST_GRID))
    with pytest.raises(CaseInvalid, match="no grid with code '370102001001'"):
        submit_case(people.resident, _input(grid="370102001001"))  # a community, not a grid
    # An address alone is placed at the reporter's node; with a named grid, there.
    case, _ = submit_case(people.staff, _input(lon=None, lat=None, address="解放路1号"))
    assert case.region.code == "370102001001" and case.lon is None
    case, _ = submit_case(floating, _input(lon=None, lat=None, address="解放路1号",
                                           grid=EAST_GRID))
    assert case.region.code == EAST_GRID


def test_bad_fields_are_named(people, categories):
    for kw, field in [({"category": "nope"}, "category"), ({"category": "old"}, "category"),
                      ({"title": "  "}, "title"), ({"urgency": "asap"}, "urgency"),
                      ({"title": "x" * 201}, "title")]:
        with pytest.raises(CaseInvalid) as err:
            submit_case(people.resident, _input(**kw))
        assert err.value.field == field


def test_sources_follow_the_role(people, categories):
    with pytest.raises(CaseForbidden, match="resident account may not file sensor"):
        submit_case(people.resident, _input(source="sensor"))
    with pytest.raises(CaseInvalid, match="source: say which source"):
        submit_case(people.machine, _input())
    case, _ = submit_case(people.machine, _input(source="sensor", external_id="S-42"))
    assert (case.source, case.external_id) == ("sensor", "S-42")
    case, _ = submit_case(people.staff, _input(source="hotline", external_id="12345-0001"))
    assert case.source == "hotline"
    with pytest.raises(CaseForbidden, match="may not report"):
        submit_case(people.cg, _input())


# -- idempotency ----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_same_case(people, categories):
    first, created = submit_case(people.resident, _input(idempotency_key="k-1"))
    again, created_again = submit_case(people.resident, _input(idempotency_key="k-1"))
    assert created and not created_again and again.pk == first.pk
    assert Case.objects.count() == 1
    assert AuditRecord.objects.filter(action="cases.report").count() == 1


def test_a_reused_key_with_other_content_is_a_conflict(people, categories):
    first, _ = submit_case(people.resident, _input(idempotency_key="k-1"))
    with pytest.raises(CaseConflict, match=f"already used for a different submission "
                                           f"\\(case {first.code}\\)") as err:
        submit_case(people.resident, _input(idempotency_key="k-1", title="别的事"))
    assert err.value.status == 409
    assert Case.objects.count() == 1


def test_keys_belong_to_their_submitter(people, categories):
    mine, _ = submit_case(people.resident, _input(idempotency_key="shared"))
    theirs, created = submit_case(people.grid_worker, _input(idempotency_key="shared"))
    assert created and theirs.pk != mine.pk


def test_a_malformed_key_is_refused(people, categories):
    with pytest.raises(CaseInvalid, match="idempotency_key"):
        submit_case(people.resident, _input(idempotency_key="has spaces in it"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_case(people, categories):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is not shared safely across threads")
    barrier = threading.Barrier(6)
    results: list = []

    def worker():
        try:
            barrier.wait()
            case, created = submit_case(people.resident, _input(idempotency_key="burst-1"))
            results.append((case.pk, created))
        except BaseException as exc:  # surfaced below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(isinstance(r, tuple) for r in results), results
    assert len({pk for pk, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert Case.objects.count() == 1
    assert AuditRecord.objects.filter(action="cases.report").count() == 1


# -- self-handled (自处置) --------------------------------------------------------------------


def test_self_handled_needs_a_grid_worker_and_evidence(people, categories, upload):
    with pytest.raises(CaseInvalid, match="at least one evidence photo"):
        submit_case(people.grid_worker, _input(self_handled=True))
    with pytest.raises(CaseForbidden, match="only a grid worker"):
        submit_case(people.staff, _input(self_handled=True, photos=[upload(people.staff).pk]))
    someone_elses = upload(people.other_grid_worker)
    with pytest.raises(CaseInvalid, match="your own uploads"):
        submit_case(people.grid_worker, _input(self_handled=True, photos=[someone_elses.pk]))
    evidence = upload(people.grid_worker)
    case, _ = submit_case(people.grid_worker, _input(self_handled=True, photos=[evidence.pk],
                                                     note="已清理"))
    assert case.state == State.HANDLED and case.self_handled and case.step == "verify"
    events = list(CaseEvent.objects.filter(case=case))
    assert [(e.action, e.to_state) for e in events] == [("report", "reported"),
                                                        ("self_handle", "handled")]
    assert events[1].note == "已清理"
    evidence.refresh_from_db()
    assert evidence.case_id == case.pk and evidence.event_id == events[1].pk


# -- photos -----------------------------------------------------------------------------------


def test_photo_type_is_judged_by_content(people, media):
    fake = SimpleUploadedFile("evil.jpg", b"<?php echo 1; ?>" * 10, "image/jpeg")
    with pytest.raises(PhotoUnsupported, match="not a JPEG, PNG or WebP") as err:
        add_photo(people.resident, None, fake)
    assert err.value.status == 415
    truncated = SimpleUploadedFile("t.jpg", jpeg_bytes()[:40], "image/jpeg")
    with pytest.raises(CaseInvalid, match="damaged"):
        add_photo(people.resident, None, truncated)
    assert not Photo.objects.exists()


def test_png_and_webp_are_accepted_and_thumbnailed(people, media):
    import io

    from PIL import Image

    for fmt, ctype in (("PNG", "image/png"), ("WEBP", "image/webp")):
        buf = io.BytesIO()
        Image.new("RGB", (800, 600), "blue").save(buf, fmt)
        photo = add_photo(people.resident, None,
                          SimpleUploadedFile("x.bin", buf.getvalue(), "application/octet-stream"))
        assert (photo.content_type, photo.width, photo.height) == (ctype, 800, 600)
        with Image.open(photo_root() / photo.thumb_name) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) == 320


def test_a_photo_over_the_limit_is_refused(people, media, monkeypatch):
    monkeypatch.setattr("wangge.cases.services.photos.MAX_PHOTO_BYTES", 1000)
    with pytest.raises(PhotoTooLarge, match="limit") as err:
        add_photo(people.resident, None, SimpleUploadedFile("p.jpg", jpeg_bytes(size=(400, 300))))
    assert err.value.status == 413
    assert not Photo.objects.exists() and not any(photo_root().rglob("*.*"))


def test_exif_gps_is_offered_and_files_live_under_media_with_random_names(people, media):
    photo = add_photo(people.resident, None,
                      SimpleUploadedFile("IMG_0001.jpg", jpeg_bytes(gps=IN_WEST)))
    assert (photo.exif_lon, photo.exif_lat) == pytest.approx(IN_WEST, abs=1e-6)
    path = photo_root() / photo.stored_name
    assert path.is_file() and media in path.parents
    assert "IMG_0001" not in photo.stored_name and re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}\.jpg",
                                                                photo.stored_name)
    plain = add_photo(people.resident, None, SimpleUploadedFile("p.jpg", jpeg_bytes()))
    assert plain.exif_lon is None


def test_photos_are_not_added_to_finished_cases(people, flow, upload):
    case = flow.new_case(State.REJECTED)
    with pytest.raises(CaseConflict, match="open cases only"):
        upload(people.staff, case)


def test_files_of_a_rolled_back_upload_are_swept_but_live_ones_kept(people, media):
    import os
    import time

    from django.db import transaction

    from wangge.cases.services.photos import sweep_orphan_files

    kept = add_photo(people.resident, None, SimpleUploadedFile("a.jpg", jpeg_bytes()))
    with pytest.raises(RuntimeError), transaction.atomic():
        lost = add_photo(people.resident, None, SimpleUploadedFile("b.jpg", jpeg_bytes()))
        raise RuntimeError("the report failed after its photo was stored")
    assert not Photo.objects.filter(pk=lost.pk).exists()
    orphan = photo_root() / lost.stored_name
    assert orphan.is_file()
    # Within the grace period a file may belong to a transaction still running: kept.
    assert sweep_orphan_files() == 0 and orphan.is_file()
    hour_ago = time.time() - 7200
    for path in photo_root().rglob("*.jpg"):
        os.utime(path, (hour_ago, hour_ago))
    assert sweep_orphan_files() == 2  # the photo and its thumbnail
    assert not orphan.exists()
    assert (photo_root() / kept.stored_name).is_file()
    assert (photo_root() / kept.thumb_name).is_file()
