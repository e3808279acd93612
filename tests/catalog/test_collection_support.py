"""A known set for the collection-form tests (no tests here): three elderly persons in the
west community, 民政局's visits dataset the answers go to, and a client that speaks English.

- p1 (grid …001): 户籍 row with name, ID, phone 13812345678 and sex; on 民政's elderly list.
- p2 (grid …002): 户籍 row with name, ID, phone 13900000001; on the elderly list.
- p3 (grid …001): on the elderly list only (name, ID): no phone, no sex.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.registry_factories import ID_A, ID_B, ID_C, add_record, make_dataset, person_from
from wangge.catalog.collection import prefill, service
from wangge.catalog.models import SharingClass
from wangge.gridwork.models import Frequency, MatterItem, MatterStatus
from wangge.registry.models import Person

GRID1 = "370102001001001"
GRID2 = "370102001001002"
WEST = "370102001001"
PHONE_1 = "13812345678"
PHONE_2 = "13900000001"
CLEAR_VALUES = (PHONE_1, PHONE_2, ID_A, ID_B, ID_C, "张小明", "王芳芳", "李四海")


@dataclass
class People:
    p1: Person
    p2: Person
    p3: Person


def build_people(tree, hukou, elderly_list, *, phone_age_days: int = 10) -> People:
    """The three persons; p1's and p2's phones observed ``phone_age_days`` ago."""
    g1, g2 = tree[GRID1], tree[GRID2]
    seen = timezone.now() - datetime.timedelta(days=phone_age_days)
    p1 = person_from(
        add_record(hukou, "h1", {"name": "张小明", "id_number": ID_A, "phone": PHONE_1,
                                 "sex": "男"}, region=g1, observed_at=seen),
        add_record(elderly_list, "e1", {"name": "张小明", "id_number": ID_A}, region=g1))
    p2 = person_from(
        add_record(hukou, "h2", {"name": "王芳芳", "id_number": ID_B, "phone": PHONE_2},
                   region=g2, observed_at=seen),
        add_record(elderly_list, "e2", {"name": "王芳芳", "id_number": ID_B}, region=g2))
    p3 = person_from(add_record(elderly_list, "e3", {"name": "李四海", "id_number": ID_C},
                                region=g1))
    return People(p1, p2, p3)


VISITS_ITEM = "独居老人定期走访"


def visits_item(civil_affairs, **kw) -> MatterItem:
    """民政局's admitted grid matter the forms are sent under (the gate, 网格事项准入)."""
    values = {"name": VISITS_ITEM, "department": civil_affairs, "region": civil_affairs.region,
              "basis": "《老年人权益保障法》", "duties": "上门走访、核实信息",
              "frequency": Frequency.MONTHLY, "status": MatterStatus.ADMITTED,
              "effective_from": timezone.localdate() - datetime.timedelta(days=30),
              "fields": prefill.person_field_codes()}
    values.update(kw)
    return MatterItem.objects.create(**values)


def visits_dataset(civil_affairs):
    """民政局's own collection dataset, where the forms' answers are written, and the admitted
    matter item the forms are sent under."""
    visits_item(civil_affairs)
    return make_dataset("mz-visits", civil_affairs,
                        ("phone", "sex", "health_note", "living_alone", "occupation"),
                        name="走访采集", required=(), trust=40,
                        sharing_class=SharingClass.CONDITIONAL)


def spec(**kw) -> service.FormSpec:
    values = {"name": "独居老人走访", "dataset": "mz-visits",
              "fields": ["phone", "sex", "health_note", "living_alone"], "region": WEST,
              "target_tag": "elderly_alone",
              "due_on": timezone.localdate() + datetime.timedelta(days=14),
              "matter": MatterItem.objects.filter(name=VISITS_ITEM).values_list(
                  "pk", flat=True).first()}
    values.update(kw)
    return service.FormSpec(**values)


def issued_form(user, **kw):
    form = service.create_form(user, spec(**kw))
    return service.issue_form(user, form.pk).form


def english_client(user=None) -> Client:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        c.force_login(user)
    return c


def assert_masked(text: str) -> None:
    """No clear phone, ID number or full name in ``text``."""
    for clear in CLEAR_VALUES:
        assert clear not in text, f"clear value {clear!r} shown"
