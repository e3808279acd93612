"""The registry's foundation: sealed source rows, survivorship, scoping by department."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.registry_factories import ID_A, ID_B, add_record, person_from
from wangge.accounts.scope import visible_to
from wangge.privacy.services import protected_kind
from wangge.registry import records
from wangge.registry.models import Person, PersonTag, SourceRecord

pytestmark = pytest.mark.django_db


def test_source_row_is_sealed_and_masked(tree, hukou):
    row = add_record(hukou, "h1", {"name": "张小明", "id_number": ID_A, "phone": "13812345678"},
                     region=tree["370102001001001"])
    stored = SourceRecord.objects.get(pk=row.pk)
    assert ID_A not in stored.payload_cipher and "13812345678" not in str(stored.masked)
    assert stored.masked["id_number"] == "3701**********211X"
    assert stored.masked["phone"] == "138****5678"
    assert records.open_values(stored)["id_number"] == ID_A
    # The same row again hashes the same (idempotent imports); a changed one does not.
    again = records.seal({"name": "张小明", "id_number": ID_A, "phone": "13812345678"})
    assert again.row_hash == stored.row_hash
    assert records.seal({"name": "张小明", "id_number": ID_A}).row_hash != stored.row_hash


def test_whole_row_is_never_revealable(hukou):
    with pytest.raises(ValidationError) as refused:
        protected_kind(SourceRecord, "payload")
    assert "field" in refused.value.message_dict


def test_survivorship_prefers_trust_then_recency(tree, hukou, elderly_list):
    grid = tree["370102001001001"]
    old = timezone.now() - datetime.timedelta(days=30)
    a = add_record(hukou, "h1", {"name": "王芳", "id_number": ID_B, "phone": "13900000001"},
                   region=grid, observed_at=old)
    b = add_record(elderly_list, "e1", {"name": "王芳", "id_number": ID_B,
                                        "phone": "13900000002"}, region=grid)
    person = person_from(a, b)
    # 公安 (trust 90) wins the phone although 民政's row is newer; the conflict is listed.
    assert person.phone == "139****0001"
    assert person.chosen["phone"]["dataset"] == "ga-hukou"
    assert person.conflict_fields == ["phone"] and person.has_conflicts
    assert person.birth_year == 1946
    # The tag follows 民政's list.
    assert PersonTag.objects.filter(person=person, tag__code="elderly_alone").exists()


def test_handler_sees_only_persons_his_datasets_hold(tree, hukou, elderly_list, handler,
                                                      police_handler, grid_worker):
    grid = tree["370102001001001"]
    p1 = person_from(add_record(hukou, "h1", {"name": "李四", "id_number": ID_A}, region=grid))
    p2 = person_from(add_record(elderly_list, "e1", {"name": "王芳", "id_number": ID_B},
                                region=grid))
    assert set(visible_to(Person, handler)) == {p2}  # 民政 handler: only 民政's persons
    assert set(visible_to(Person, police_handler)) == {p1}
    assert set(visible_to(Person, grid_worker)) == {p1, p2}  # the grid's residents
    # 公安's conditional rows are not visible to the grid worker, 民政's list (sent down) is.
    assert set(visible_to(SourceRecord, grid_worker).values_list("key", flat=True)) == {"e1"}


def test_tags_visible_only_to_holders(tree, elderly_list, correction_tag, handler,
                                      police_handler, grid_worker):
    grid = tree["370102001001001"]
    person = person_from(add_record(elderly_list, "e1", {"name": "王芳", "id_number": ID_B},
                                    region=grid))
    PersonTag.objects.create(person=person, tag=correction_tag, region_path=person.region_path)
    def codes(user):
        return set(visible_to(PersonTag, user).values_list("tag__code", flat=True))
    assert codes(grid_worker) == {"elderly_alone"}
    assert codes(handler) == {"elderly_alone"}
    assert codes(police_handler) == {"community_correction"}
