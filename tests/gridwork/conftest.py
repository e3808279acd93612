"""Registry fixtures (``tests/registry_fixtures.py``) for the grid matters tests."""

import pytest

from tests.factories import make_user
from tests.registry_fixtures import (  # noqa: F401 — fixtures
    civil_affairs,
    district,
    grid_worker,
    handler,
    key_file,
    other_grid_worker,
    own_var_dir,
    police,
    police_handler,
    steward,
)
from wangge.accounts.roles import Role


@pytest.fixture
def reviewer(tree):
    """The district's command centre: reviews its grid matters."""
    return make_user("lx_command", Role.COMMAND, tree["370102"])


@pytest.fixture
def city_command(tree):
    return make_user("jn_command", Role.COMMAND, tree["3701"])


@pytest.fixture
def street_command(tree):
    """A command account below the district: out of the district's list."""
    return make_user("jfl_command", Role.COMMAND, tree["370102001"])


# -- tasks and campaigns (helper "tasks"; used by test_tasks, test_campaign_progress,
#    test_reminders and the task pages) ------------------------------------------------------

TASK_FIELDS = ("residents_present", "gas_safety_hazard", "check_note",
               "fire_extinguishers_ok", "structure_hazard", "hazards_found")


@pytest.fixture
def admitted_item(handler, reviewer):  # noqa: F811 — the imported fixture
    """民政局's admitted 燃气安全入户排查 item (effective 2026-01-01) with ground-check fields."""
    import datetime

    from wangge.gridwork import service
    from wangge.gridwork.service import Application

    item = service.apply(handler, Application(
        name="燃气安全入户排查", basis="《城镇燃气管理条例》", duties="入户查看燃气安全",
        frequency="monthly", fields=TASK_FIELDS))
    return service.decide(reviewer, item.pk, "admit", on=datetime.date(2026, 1, 1))


@pytest.fixture
def homes(tree):
    """Households by grid: west-1 three (one rented), west-2 two, east-1 one, and one in
    the other street's grid; a building and two places in west-1, a place in east-1."""
    from wangge.registry.models import Building, House, Household, Place

    def household(number, grid, usage="owner_occupied"):
        house = House.objects.create(label=f"{number}室", usage=usage, region=tree[grid])
        return Household.objects.create(number=number, house=house, region=tree[grid])

    w1, w2, e1, s1 = ("370102001001001", "370102001001002", "370102001002001",
                      "370102002001001")
    rows = {
        "w1": [household("H-W1-1", w1), household("H-W1-2", w1, "rented"),
               household("H-W1-3", w1)],
        "w2": [household("H-W2-1", w2), household("H-W2-2", w2)],
        "e1": [household("H-E1-1", e1)],
        "s1": [household("H-S1-1", s1)],
    }
    rows["building"] = Building.objects.create(name="1号楼", address="解放路1号",
                                               region=tree[w1])
    rows["school"] = Place.objects.create(kind="school", name="解放路小学", lon=117.01,
                                          lat=36.605, region=tree[w1])
    rows["shop"] = Place.objects.create(kind="shop", name="便民超市", lon=117.011, lat=36.605,
                                        region=tree[w1])
    rows["market"] = Place.objects.create(kind="market", name="东社区市场", lon=117.03,
                                          lat=36.605, region=tree[e1])
    return rows


# -- the grid worker's day (helper "day"; used by test_visits, test_day, test_sync) ------------


@pytest.fixture
def help_categories(db):
    """Active case categories a visit or a quick report may name."""
    from wangge.cases.models import Category, CategoryKind

    social = Category.objects.create(code="social", name="民生服务", kind=CategoryKind.EVENT)
    care = Category.objects.create(code="social.care", name="困难帮扶", parent=social,
                                   kind=CategoryKind.EVENT)
    garbage = Category.objects.create(code="env.garbage", name="暴露垃圾",
                                      kind=CategoryKind.EVENT)
    return {"social": social, "care": care, "garbage": garbage}


@pytest.fixture
def care(tree, civil_affairs, police):  # noqa: F811 — the imported fixtures
    """Key-care persons in west grid 1 (the grid worker's): 王 (独居老人, every 7 days, since
    2026-10-01), 李 (残疾人, every 30 days), 赵 (社区矫正, police's, held by nobody: no
    grid worker sees it), and 钱 in west grid 2 (独居老人)."""
    import datetime

    from tests.registry_factories import make_tag
    from wangge.registry.models import Person, PersonTag

    elderly = make_tag("elderly_alone", "独居老人", civil_affairs,
                       holders=["grid_worker", "staff"], purpose="定期探访")
    disabled = make_tag("disabled", "残疾人", civil_affairs, holders=["grid_worker"],
                        purpose="定期探访")
    correction = make_tag("community_correction", "社区矫正", police, holders=[],
                          category="key", purpose="社区矫正监管")
    for tag, days in ((elderly, 7), (disabled, 30), (correction, 7)):
        tag.visit_interval_days = days
        tag.save(update_fields=["visit_interval_days"])

    def person(name, grid, tag, since):
        p = Person(region=tree[grid], name=name, address="济南市历下区解放路1号3单元201室")
        p.save()
        PersonTag.objects.create(person=p, tag=tag, region_path=p.region_path, since=since)
        return p

    since = datetime.date(2026, 10, 1)
    return {
        "elderly": elderly, "disabled": disabled, "correction": correction,
        "wang": person("王秀英", "370102001001001", elderly, since),
        "li": person("李建国", "370102001001001", disabled, since),
        "zhao": person("赵某某", "370102001001001", correction, since),
        "qian": person("钱桂兰", "370102001001002", elderly, since),
    }


@pytest.fixture
def campaign(handler, admitted_item, tree, homes):  # noqa: F811 — the imported fixture
    """A launched campaign over the west community's households (two quick fields), so the
    worker of west grid 1 has three targets and the worker of west grid 2 two."""
    import datetime

    from wangge.gridwork.tasks import service as tasks

    task = tasks.create_task(
        handler, kind="campaign", title="燃气安全入户排查", matter_id=admitted_item.pk,
        region_id=tree["370102001001"].pk, target_kind="household",
        starts_on=datetime.date(2026, 3, 2), due_on=datetime.date(2026, 12, 31),
        fields=("residents_present", "gas_safety_hazard"))
    return tasks.launch(handler, task.pk)


# The known city of the workload and staffing tests (test_workload.py, test_staffing.py).
from tests.gridwork.staffing_city import city, command  # noqa: E402, F401
