"""Fixtures for the closed loop: categories, departments, people in every role, a case factory
and ``flow``, which drives a case into any state through the real engine.

Reusable by other case tests: ``categories``, ``departments``, ``people``, ``media``,
``make_case``, ``upload`` and ``flow``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from PIL import Image

from tests.factories import make_user
from wangge.accounts.models import Department, User
from wangge.accounts.roles import Role
from wangge.cases.models import Case, Category, CategoryKind
from wangge.cases.services import CaseInput, add_photo, submit_case, transition
from wangge.cases.workflow import BY_ACTION, State, Transition

WEST_GRID = "370102001001001"  # box (117.00, 36.60)-(117.02, 36.61)
WEST_GRID_2 = "370102001001002"  # north of it
EAST_GRID = "370102001002001"
SOUTH_GRID = "370102002001001"  # another street: box (117.10, 36.60)-(117.12, 36.61)
IN_WEST = (117.01, 36.605)
IN_EAST = (117.03, 36.605)
IN_SOUTH = (117.11, 36.605)
OUTSIDE = (117.06, 36.605)  # between the two streets' grids: in no grid


def jpeg_bytes(*, gps: tuple[float, float] | None = None, size=(64, 48)) -> bytes:
    """A small JPEG; with ``gps`` (lon, lat) written as EXIF GPS degrees/minutes/seconds."""
    img = Image.new("RGB", size, (200, 40, 40))
    buf = io.BytesIO()
    if gps is None:
        img.save(buf, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: _dms(gps[1]), 3: "E", 4: _dms(gps[0])}
        img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round(((value - deg) * 60 - minutes) * 60, 4)
    return float(deg), float(minutes), seconds


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (their msgids); the platform defaults to Chinese."""
    with translation.override("en"):
        yield


def english_client(user=None) -> Client:
    """A test client signed in as ``user`` (if given) whose pages and API speak English."""
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        c.force_login(user)
    return c


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    # A dozen accounts per test: Argon2's deliberate slowness would dominate the run time,
    # and no test here is about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def categories(db) -> dict[str, Category]:
    env = Category.objects.create(code="env", name="市容环境", kind=CategoryKind.EVENT)
    garbage = Category.objects.create(code="env.garbage", name="暴露垃圾", parent=env,
                                      kind=CategoryKind.EVENT)
    ads = Category.objects.create(code="env.ads", name="非法小广告", parent=env,
                                  kind=CategoryKind.EVENT)
    road = Category.objects.create(code="road", name="道路交通", kind=CategoryKind.COMPONENT)
    manhole = Category.objects.create(code="road.manhole", name="井盖缺失", parent=road,
                                      kind=CategoryKind.COMPONENT)
    old = Category.objects.create(code="old", name="停用分类", kind=CategoryKind.EVENT,
                                  is_active=False)
    return {c.code: c for c in (env, garbage, ads, road, manhole, old)}


@pytest.fixture
def departments(tree) -> dict[str, Department]:
    county = tree["370102"]
    return {
        "CG": Department.objects.create(code="CG", name="区城管局", region=county),
        "ZJ": Department.objects.create(code="ZJ", name="区住建局", region=county),
        "SW": Department.objects.create(code="SW", name="区水务局", region=county),
        # Serves only the other street: it can't be sent to the west community's cases.
        "QF": Department.objects.create(code="QF", name="千佛山街道城管科",
                                        region=tree["370102002"]),
    }


@dataclass
class People:
    resident: User  # reports from the west grid
    other_resident: User
    grid_worker: User  # the west grid's worker
    other_grid_worker: User  # the north grid of the same community
    staff: User  # west community: registers and dispatches
    street_staff: User  # the street above it
    other_staff: User  # east community
    south_staff: User  # the other street's community
    command: User  # district command centre: supervises
    cg: User  # handler of 城管局 (usually the lead)
    zj: User  # handler of 住建局 (usually assisting)
    sw: User  # handler of 水务局 (never assigned unless a test says so)
    machine: User
    admin: User


@pytest.fixture
def people(tree, departments) -> People:
    t = tree
    admin = make_user("admin1", Role.ADMIN, None)
    return People(
        resident=make_user("resident_w", Role.RESIDENT, t[WEST_GRID]),
        other_resident=make_user("resident_e", Role.RESIDENT, t[EAST_GRID]),
        grid_worker=make_user("gw_w1", Role.GRID_WORKER, t[WEST_GRID]),
        other_grid_worker=make_user("gw_w2", Role.GRID_WORKER, t[WEST_GRID_2]),
        staff=make_user("staff_w", Role.STAFF, t["370102001001"]),
        street_staff=make_user("staff_street", Role.STAFF, t["370102001"]),
        other_staff=make_user("staff_e", Role.STAFF, t["370102001002"]),
        south_staff=make_user("staff_s", Role.STAFF, t["370102002001"]),
        command=make_user("command_d", Role.COMMAND, t["370102"]),
        cg=make_user("h_cg", Role.HANDLER, t["370102"], departments["CG"]),
        zj=make_user("h_zj", Role.HANDLER, t["370102"], departments["ZJ"]),
        sw=make_user("h_sw", Role.HANDLER, t["370102"], departments["SW"]),
        machine=make_user("sensor1", Role.MACHINE, t["370102001"]),
        admin=admin,
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def upload(media):
    """upload(actor, case=None, data=None, name="p.jpg") -> Photo, through the service."""

    def _upload(actor, case=None, data: bytes | None = None, name: str = "p.jpg"):
        content = jpeg_bytes() if data is None else data
        return add_photo(actor, case, SimpleUploadedFile(name, content, "image/jpeg"))

    return _upload


@pytest.fixture
def make_case(categories, people):
    """make_case(actor=resident, **CaseInput fields) -> Case, filed through intake."""

    def _make(actor=None, **fields) -> Case:
        data = {"category": "env.garbage", "title": "路边垃圾堆放", "lon": IN_WEST[0],
                "lat": IN_WEST[1], "crs": "wgs84", **fields}
        case, _ = submit_case(actor or people.resident, CaseInput(**data))
        return case

    return _make


# The preferred actor for a transition: the first of these whose role it lists.
ACTOR_PREFERENCE = ("grid_worker", "staff", "command", "cg", "resident")


class Flow:
    """Drives cases through the engine with a sensible actor and inputs for each action."""

    def __init__(self, people: People, make_case, upload) -> None:
        self.people = people
        self.make_case = make_case
        self.upload = upload

    def actor_for(self, t: Transition) -> User:
        for name in ACTOR_PREFERENCE:
            user = getattr(self.people, name)
            if user.role in t.roles:
                return user
        raise AssertionError(f"no test actor for {t.action} (roles {sorted(t.roles)})")

    def inputs_for(self, t: Transition, actor: User, case: Case) -> dict:
        """Valid inputs for every name in ``t.needs``. A new kind of input in the table
        fails here by name, so the table-driven tests never silently skip it."""
        out: dict = {}
        for name in t.needs:
            if name == "reason":
                out["reason"] = "理由：测试"
            elif name == "note":
                out["note"] = "已现场处理"
            elif name == "evidence":
                out["evidence"] = [self.upload(actor).pk]  # their own, not yet attached
            elif name == "departments":
                out["departments"] = ["CG", "ZJ"]
            elif name == "days":
                out["days"] = 2
            elif name == "rating":
                out["rating"] = 4
            elif name == "master":
                out["master"] = self.make_case(title="同一处垃圾（主案件）").code
            else:
                raise AssertionError(f"the tests don't know how to supply {name!r}")
        return out

    def act(self, case: Case, action: str, actor: User | None = None, **inputs) -> Case:
        t = BY_ACTION[action]
        actor = actor or self.actor_for(t)
        given = {**self.inputs_for(t, actor, case), **inputs}
        return transition(actor, case.pk, action, **given)

    def new_case(self, state: str, *, whistle: bool = False, pending: str | None = None,
                 **fields) -> Case:
        """A case filed by the west-grid resident and driven into ``state``. ``whistle``
        summons CG (lead) and ZJ instead of a plain dispatch; ``pending`` files an
        extension or suspension request once the case is being handled."""
        case = self.make_case(**fields)
        for action in self.path_to(state, whistle=whistle):
            if action == "rate_low":
                case = self.act(case, "rate", rating=1, comment="没解决")
            else:
                case = self.act(case, action)
        if pending:
            assert case.state == State.HANDLING, "pending requests are made while handling"
            case = self.act(case, f"request_{pending}")
        assert case.state == state
        return case

    @staticmethod
    def path_to(state: str, *, whistle: bool = False) -> list[str]:
        send = "whistle" if whistle else "dispatch"
        handling = ["register", send, "accept"]
        return {
            State.REPORTED: [],
            State.REGISTERED: ["register"],
            State.DISPATCHED: ["register", send],
            State.HANDLING: handling,
            State.HANDLED: [*handling, "handle"],
            State.CLOSED: [*handling, "handle", "verify"],
            State.UNDER_REVIEW: [*handling, "handle", "verify", "rate_low"],
            State.SUSPENDED: [*handling, "request_suspension", "approve_suspension"],
            State.REJECTED: ["reject"],
            State.VOIDED: ["register", send, "void"],
            State.MERGED: ["merge"],
        }[state]


@pytest.fixture
def flow(people, make_case, upload) -> Flow:
    return Flow(people, make_case, upload)
