"""A small registry for the page, search, masking and export tests.

West community, grid 1 (370102001001001): 张小明 (公安's 户籍 only, rented flat in 阳光花园
3号楼) and 王芳 (公安's 户籍 and 民政's 独居老人 list, with different phones: a conflict).
East community (370102001002001): 李四 (户籍 only). Houses, buildings, places and
organisations on both sides. Clear values are constants here so tests can assert that no
page, answer or file ever holds them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from tests.registry_factories import ID_A, ID_B, ID_C, add_record, make_tag, person_from
from wangge.catalog.models import AccessRequest, RequestStatus
from wangge.registry.models import (
    Building,
    House,
    Household,
    HouseUsage,
    Organisation,
    Person,
    PersonTag,
    Place,
    PlaceKind,
    TagDefinition,
)

WEST1 = "370102001001001"
WEST2 = "370102001001002"
EAST1 = "370102001002001"

NAME_A, PHONE_A = "张小明", "13812345678"
ADDRESS_A = "山东省济南市历下区阳光花园3号楼2单元501室"
NAME_B, PHONE_B_HUKOU, PHONE_B_LIST = "王芳", "13900000001", "13900000002"
NAME_C, PHONE_C = "李四", "13700001111"
CLEAR = (ID_A, ID_B, ID_C, NAME_A, NAME_B, NAME_C, PHONE_A, PHONE_B_HUKOU, PHONE_B_LIST,
         PHONE_C, ADDRESS_A)
CREDIT_CODE = "91370102MA3C4XXX1K"


@dataclass
class City:
    a: Person
    b: Person
    c: Person
    rented: House
    vacant: House
    east_house: House
    building: Building
    school: Place
    east_shop: Place
    company: Organisation
    low_income: TagDefinition


def build(tree, hukou, elderly_list, correction_tag, civil_affairs) -> City:
    west1, east1 = tree[WEST1], tree[EAST1]
    month_ago = timezone.now() - datetime.timedelta(days=30)
    building = Building.objects.create(name="阳光花园3号楼", address="历下区阳光花园3号楼",
                                       region=west1, floors=6)
    rented = House.objects.create(building=building, label="2单元501", region=west1,
                                  usage=HouseUsage.RENTED, tenant_count=2, area_m2=86)
    vacant = House.objects.create(building=building, label="1单元101", region=west1,
                                  usage=HouseUsage.VACANT)
    east_building = Building.objects.create(name="东苑1号楼", address="历下区东苑1号楼",
                                            region=east1)
    east_house = House.objects.create(building=east_building, label="1单元202", region=east1,
                                      usage=HouseUsage.RENTED)
    household = Household.objects.create(number="HH-0001", house=rented, region=west1)

    # 张小明's row is keyed by his ID number, as a department without its own keys does.
    a = person_from(add_record(hukou, ID_A, {
        "name": NAME_A, "id_number": ID_A, "phone": PHONE_A, "address": ADDRESS_A,
        "sex": "男", "household_no": "HH-0001", "grid_code": WEST1}, region=west1,
        observed_at=month_ago))
    a.house, a.household = rented, household
    a.residence_type = "floating"
    a.values = {**a.values, "employer": "泉城科技有限公司"}
    a.save()
    b = person_from(
        add_record(hukou, "h-b", {"name": NAME_B, "id_number": ID_B, "phone": PHONE_B_HUKOU,
                                  "grid_code": WEST1}, region=west1, observed_at=month_ago),
        add_record(elderly_list, "e-b", {"name": NAME_B, "id_number": ID_B,
                                         "phone": PHONE_B_LIST, "grid_code": WEST1},
                   region=west1))
    c = person_from(add_record(hukou, "h-c", {"name": NAME_C, "id_number": ID_C,
                                              "phone": PHONE_C, "grid_code": EAST1},
                               region=east1))
    # 社区矫正 (police, no holders) on 王芳: only police accounts may know.
    PersonTag.objects.create(person=b, tag=correction_tag, region_path=b.region_path)
    low_income = make_tag("low_income", "低保对象", civil_affairs, holders=["handler"],
                          category="service", purpose="低保核查")
    school = Place.objects.create(kind=PlaceKind.SCHOOL, name="阳光小学", lon=117.01,
                                  lat=36.605, region=west1, address="历下区阳光路1号")
    company = Organisation.objects.create(name="泉城科技有限公司", credit_code=CREDIT_CODE,
                                          address="历下区阳光路8号", region=west1, employees=40)
    school.organisation = company
    school.save()
    east_shop = Place.objects.create(kind=PlaceKind.SHOP, name="东苑便利店", lon=117.03,
                                     lat=36.605, region=east1)
    return City(a=a, b=b, c=c, rented=rented, vacant=vacant, east_house=east_house,
                building=building, school=school, east_shop=east_shop, company=company,
                low_income=low_income)


def grant(dataset, department, user, days: int = 30) -> AccessRequest:
    """A live grant of ``dataset`` to ``department`` (有条件共享, approved)."""
    return AccessRequest.objects.create(
        dataset=dataset, department=department, requested_by=user, purpose="核查",
        status=RequestStatus.APPROVED, decided_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(days=days))


def assert_no_clear(text: str | bytes, *extra: str) -> None:
    """No clear ID number, phone, name or exact address of the test persons in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    for value in CLEAR + extra:
        assert value not in text, f"clear value {value[:2]}… leaked"
