"""``wangge demo``: the S city in the database, its accounts, re-runs and resets."""

from __future__ import annotations

import io
import stat

import pytest
from django.core.management import CommandError, call_command
from shapely.geometry import shape

from tests.factories import PASSWORD as make_user_password
from tests.factories import make_user
from wangge.accounts.models import Department, User
from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.audit.models import AuditRecord
from wangge.audit.services import verify_chain
from wangge.demo.generator import DEMO_EMAIL_DOMAIN, LOGINS_FILE_NAME
from wangge.demo.layout import build_layout
from wangge.regions.models import Level, Region

PASSWORD = "demo-Pass-2024"
SEED = 5


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def run_demo(*args: str) -> str:
    """The demo command; without past cases unless asked (test_history.py plays them)."""
    out = io.StringIO()
    if "--history" not in args:
        args = (*args, "--history", "0")
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def city(db, var_dir):
    return run_demo("--size", "S", "--seed", str(SEED), "--password", PASSWORD)


@pytest.mark.django_db
def test_small_city_has_the_tree_with_polygons(city):
    assert Region.objects.get(code="37").name == "山东省"
    assert Region.objects.get(code="3701").name == "济南市"
    assert Region.objects.get(code="370102").name == "历下区"
    assert Region.objects.filter(level=Level.TOWNSHIP).count() == 13
    grids = Region.objects.filter(level=Level.GRID)
    assert 180 <= grids.count() <= 240
    for node in Region.objects.filter(level__gte=Level.COUNTY):
        assert node.geometry["type"] == "Polygon", node.code
        assert node.min_lon < node.centroid_lon < node.max_lon, node.code
        assert node.path.endswith(f"{node.parent.code}.{node.code}."), node.code
    for grid in grids:
        assert 300 <= grid.attributes["households"] <= 500
        assert grid.parent.level == Level.COMMUNITY
    assert f"{grids.count()} grids" in city


@pytest.mark.django_db
def test_stored_polygons_are_the_layout_of_that_seed(city):
    layout = build_layout("S", SEED)
    stored = {r.code: r for r in Region.objects.filter(level=Level.GRID)}
    assert set(stored) == {g.code for g in layout.grids}
    for grid in layout.grids[:20]:
        row = stored[grid.code]
        assert row.name == grid.name
        assert shape(row.geometry).equals_exact(grid.polygon, 0)


def _login(username: str) -> User:
    user = User.objects.select_related("region", "department").get(username=username)
    assert user.check_password(PASSWORD), username
    return user


@pytest.mark.django_db
def test_every_role_has_a_login_bound_to_the_right_node(city):
    admin = _login("admin")
    assert admin.role == Role.ADMIN and admin.region is None
    assert admin.is_staff and admin.is_superuser
    auditor = _login("auditor")
    assert auditor.role == Role.AUDITOR and auditor.region is None
    command = _login("command")
    assert (command.role, command.region.code) == (Role.COMMAND, "3701")
    lixia = _login("command_lixia")
    assert (lixia.role, lixia.region.code) == (Role.COMMAND, "370102")
    street = _login("street_370102001")
    assert (street.role, street.region.level) == (Role.STAFF, Level.TOWNSHIP)
    handler = _login("handler_cg")
    assert handler.role == Role.HANDLER and handler.department.code == "370102-CG"
    assert handler.region.code == handler.department.region.code == "370102"
    steward = _login("steward")
    assert steward.role == Role.STEWARD and steward.region.level == Level.COUNTY
    assert steward.department is not None
    sensor = _login("sensor")
    assert (sensor.role, sensor.region.code) == (Role.MACHINE, "3701")
    resident = _login("resident1")
    assert resident.role == Role.RESIDENT and resident.region.level == Level.GRID

    for role in Role:
        assert User.objects.filter(role=role).exists(), role
    # The printed table has one login per role, with the password.
    for label in ("admin", "command_lixia", "handler_cg", "resident1", "steward", "auditor",
                  "sensor", "street_370102001", "community_370102001001"):
        assert label in city
    assert city.count(PASSWORD) >= len(Role)


@pytest.mark.django_db
def test_community_staff_see_their_grids_and_not_the_neighbours(city):
    staff = _login("community_370102001001")
    assert (staff.role, staff.region.level) == (Role.STAFF, Level.COMMUNITY)
    seen = visible_to(Region, staff).filter(level=Level.GRID)
    own = Region.objects.filter(parent__code="370102001001")
    assert seen.count() == own.count() >= 4
    assert set(seen) == set(own)
    assert not visible_to(Region, staff).filter(code="370102001002001").exists()


@pytest.mark.django_db
def test_each_grid_has_exactly_one_grid_worker(city):
    grids = Region.objects.filter(level=Level.GRID)
    workers = User.objects.filter(role=Role.GRID_WORKER)
    assert workers.count() == grids.count()
    assert set(workers.values_list("region__code", flat=True)) == set(
        grids.values_list("code", flat=True))
    assert all(u.username == f"gw_{u.region.code}" for u in workers.select_related("region"))
    assert _login(workers.order_by("username").last().username)


@pytest.mark.django_db
def test_departments_of_the_district(city):
    codes = set(Department.objects.values_list("code", flat=True))
    assert codes >= {"370102-CG", "370102-ZJ", "370102-HB", "370102-SJ", "370102-GA",
                     "370102-YJ", "370102-MZ", "370102-SW"}
    assert Department.objects.get(code="370102-CG").name == "历下区城市管理局"
    assert all(d.region.code == "370102" for d in Department.objects.all())
    assert Department.objects.count() == 11


@pytest.mark.django_db
def test_logins_file_is_private_and_holds_the_password(city, var_dir):
    path = var_dir / LOGINS_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert PASSWORD in text and "gw_370102001001001" in text and "handler_cg" in text


@pytest.mark.django_db
def test_generation_is_one_audit_record_and_the_chain_holds(city):
    records = AuditRecord.objects.filter(action="demo.generate")
    assert records.count() == 1
    assert '"size":"S"' in records.get().detail
    assert verify_chain().ok


@pytest.mark.django_db
def test_random_password_when_none_is_given(db, var_dir):
    out = run_demo("--size", "S", "--seed", "1")
    text = (var_dir / LOGINS_FILE_NAME).read_text(encoding="utf-8")
    password = text.splitlines()[1].rsplit(" ", 1)[1]
    assert len(password) >= 12 and password in out
    assert User.objects.get(username="auditor").check_password(password)


@pytest.mark.django_db
def test_rerun_without_reset_keeps_the_city_and_renews_passwords(city):
    regions = list(Region.objects.order_by("code").values_list("code", "geometry"))
    out = run_demo("--size", "L", "--seed", "9", "--password", "a-New-one-77")
    assert "already exists (size S, seed 5)" in out
    assert "--reset to build it anew as size L, seed 9" in out
    assert list(Region.objects.order_by("code").values_list("code", "geometry")) == regions
    admin = User.objects.get(username="admin")
    assert admin.check_password("a-New-one-77") and not admin.check_password(PASSWORD)
    assert User.objects.get(username="gw_370102001001001").check_password("a-New-one-77")
    assert AuditRecord.objects.filter(action="demo.generate").count() == 1
    assert AuditRecord.objects.filter(action="demo.passwords_reset").count() == 1


@pytest.mark.django_db
def test_reset_rebuilds_with_another_seed(city):
    before = {r.code: r.geometry for r in Region.objects.filter(level=Level.TOWNSHIP)}
    run_demo("--size", "S", "--seed", str(SEED + 1), "--password", PASSWORD, "--reset")
    after = {r.code: r.geometry for r in Region.objects.filter(level=Level.TOWNSHIP)}
    assert set(before) == set(after)  # the same real streets, redrawn
    assert all(before[c] != after[c] for c in before)
    expected = len(build_layout("S", SEED + 1).grids)
    assert Region.objects.filter(level=Level.GRID).count() == expected
    assert User.objects.filter(role=Role.GRID_WORKER).count() == expected
    assert Region.objects.filter(code="3701").count() == 1
    assert AuditRecord.objects.filter(action="demo.reset").count() == 1
    assert verify_chain().ok


@pytest.mark.django_db
def test_reset_leaves_the_city_level_rows_of_others_alone(city):
    city_node = Region.objects.get(code="3701")
    outsider = make_user("zhang_wei", Role.COMMAND, city_node)
    own_dept = Department.objects.create(code="3701-CG", name="济南市城市管理局",
                                         region=city_node)
    run_demo("--size", "S", "--seed", "1", "--password", PASSWORD, "--reset")
    assert Department.objects.filter(pk=own_dept.pk).exists()
    outsider.refresh_from_db()
    assert outsider.region.code == "3701" and outsider.check_password(make_user_password)
    demo_accounts = User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}")
    assert not demo_accounts.filter(username="zhang_wei").exists()
    assert demo_accounts.filter(username="admin").exists()


@pytest.mark.django_db
def test_reset_refuses_while_a_real_account_is_bound_to_a_demo_grid(city):
    grid = Region.objects.filter(level=Level.GRID).first()
    make_user("real_worker", Role.GRID_WORKER, grid)
    count = Region.objects.count()
    with pytest.raises(CommandError, match="real_worker"):
        run_demo("--size", "S", "--seed", "1", "--reset")
    # Nothing was removed: the old city and its accounts are still there.
    assert Region.objects.count() == count
    assert _login("admin")


@pytest.mark.django_db
def test_taken_username_is_refused_before_anything_is_written(db, var_dir):
    make_user("admin", Role.ADMIN, None)
    with pytest.raises(CommandError, match="username 'admin' is taken"):
        run_demo("--size", "S", "--seed", "1")
    assert not Region.objects.exists()
    assert not AuditRecord.objects.filter(action="demo.generate").exists()


@pytest.mark.django_db
def test_existing_non_demo_district_is_refused(tree, var_dir):
    # The test tree holds 历下区 from a manual import: the demo must not overwrite it.
    with pytest.raises(CommandError, match="region 370102 already exists"):
        run_demo("--size", "S", "--seed", "1")
    assert not Region.objects.filter(source="demo").exists()


@pytest.mark.django_db
def test_bad_size_is_refused(db, var_dir):
    with pytest.raises(CommandError):
        run_demo("--size", "XL")
    with pytest.raises(CommandError, match="non-negative"):
        run_demo("--seed", "-3")
