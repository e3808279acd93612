"""Visits to key-care persons (走访): scheduling across intervals, who sees which tags,
idempotent recording and a case raised from a visit."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone, translation

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.audit.models import AuditRecord
from wangge.cases.models import Case
from wangge.core.refusals import Conflict, Forbidden, Invalid, NotFound
from wangge.gridwork.models import Visit
from wangge.gridwork.visits import service
from wangge.registry import erasure

pytestmark = pytest.mark.django_db

DAY0 = datetime.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def at(day: int, hour: int = 10) -> datetime.datetime:
    """DAY0 + ``day`` days, at ``hour`` local time."""
    return timezone.make_aware(datetime.datetime.combine(
        DAY0 + datetime.timedelta(days=day), datetime.time(hour)))


def visit(user, person, tag, outcome="well", day=0, key=None, **kw):
    return service.record_visit(user, person_id=person.pk, tag_id=tag.pk, outcome=outcome,
                                visited_at=at(day), idempotency_key=key or f"k-{outcome}-{day}-"
                                f"{person.pk}-{tag.pk}", **kw)


def row(user, person, day):
    rows = [r for r in service.schedule(user, DAY0 + datetime.timedelta(days=day))
            if r.person_id == person.pk]
    assert len(rows) == 1
    return rows[0]


def due_list(user, day):
    return [(r.person_id, r.tag_id)
            for r in service.visits_due(user, DAY0 + datetime.timedelta(days=day))]


def test_seven_day_interval_and_not_home_does_not_restart(care, grid_worker):
    wang, elderly = care["wang"], care["elderly"]
    visit(grid_worker, wang, elderly, "well", day=0)
    visit(grid_worker, care["li"], care["disabled"], "well", day=0)
    assert row(grid_worker, wang, 0).due_on == DAY0 + datetime.timedelta(days=7)
    # Due within three days from day 4, not before; not overdue on the due day itself.
    assert (wang.pk, elderly.pk) not in due_list(grid_worker, 3)
    assert (wang.pk, elderly.pk) in due_list(grid_worker, 4)
    assert row(grid_worker, wang, 7).days_overdue == 0
    # Nobody at home on day 7: the clock does not restart, overdue on day 8.
    visit(grid_worker, wang, elderly, "not_home", day=7)
    late = row(grid_worker, wang, 8)
    assert late.overdue and late.days_overdue == 1
    assert late.last_visit == at(0) and late.last_attempt == at(7)
    assert due_list(grid_worker, 8) == [(wang.pk, elderly.pk)]
    # A real visit on day 8: next due on day 15.
    visit(grid_worker, wang, elderly, "in_hospital", day=8)
    assert row(grid_worker, wang, 9).due_on == DAY0 + datetime.timedelta(days=15)
    assert (wang.pk, elderly.pk) not in due_list(grid_worker, 9)


def test_thirty_day_interval(care, grid_worker):
    li, disabled = care["li"], care["disabled"]
    visit(grid_worker, li, disabled, "well", day=0)
    assert row(grid_worker, li, 1).due_on == DAY0 + datetime.timedelta(days=30)
    assert (li.pk, disabled.pk) not in due_list(grid_worker, 26)
    assert (li.pk, disabled.pk) in due_list(grid_worker, 27)
    assert row(grid_worker, li, 31).days_overdue == 1


def test_never_visited_is_due_from_the_tag_date(care, grid_worker):
    # Tagged since 2026-10-01: due that day, 31 days overdue on DAY0.
    r = row(grid_worker, care["wang"], 0)
    assert r.due_on == datetime.date(2026, 10, 1) and r.days_overdue == 31
    assert r.last_visit is None
    assert r.name != "王秀英" and r.name.startswith("王")  # masked, as the registry shows it


def test_tags_and_persons_the_worker_may_not_see(care, grid_worker, other_grid_worker):
    seen = {p for p, _t in due_list(grid_worker, 0)}
    assert seen == {care["wang"].pk, care["li"].pk}  # not 赵 (社区矫正), not 钱 (grid 2)
    assert {p for p, _t in due_list(other_grid_worker, 0)} == {care["qian"].pk}
    with pytest.raises(NotFound):
        visit(grid_worker, care["zhao"], care["correction"])
    with pytest.raises(NotFound):
        visit(grid_worker, care["qian"], care["elderly"])  # another grid
    with pytest.raises(NotFound):
        visit(grid_worker, care["wang"], care["disabled"])  # 王 does not carry this tag
    assert Visit.objects.count() == 0


def test_anonymised_person_leaves_the_list_and_keeps_visits(care, grid_worker):
    wang = care["wang"]
    v, _ = visit(grid_worker, wang, care["elderly"], "well", day=0, note="血压偏高")
    erasure.anonymise_person(wang)
    assert wang.pk not in {p for p, _t in due_list(grid_worker, 10)}
    v.refresh_from_db()
    assert v.note == ""  # what was written about her is gone; the visit is counted
    with pytest.raises(Exception, match="visit"):
        erasure.delete_person(wang)


def test_idempotent_retry_and_reused_key(care, grid_worker):
    wang, elderly = care["wang"], care["elderly"]
    first, created = visit(grid_worker, wang, elderly, "well", key="visit-key-0001")
    again, created_again = visit(grid_worker, wang, elderly, "well", key="visit-key-0001")
    assert created and not created_again and again.pk == first.pk
    assert Visit.objects.count() == 1
    assert AuditRecord.objects.filter(action="gridwork.visit.record").count() == 1
    with pytest.raises(Conflict) as exc:
        visit(grid_worker, wang, elderly, "needs_help", key="visit-key-0001")
    assert exc.value.field == "idempotency_key"
    # Another account's identical key is its own visit.
    staff = make_user("west_staff2", Role.STAFF, wang.region.parent)
    _, created = visit(staff, wang, elderly, "well", key="visit-key-0001")
    assert created and Visit.objects.count() == 2


def test_wrong_inputs_and_roles(care, grid_worker, handler):
    wang, elderly = care["wang"], care["elderly"]
    with pytest.raises(Invalid) as exc:
        visit(grid_worker, wang, elderly, "partying")
    assert exc.value.field == "outcome"
    with pytest.raises(Invalid) as exc:
        visit(grid_worker, wang, elderly, key="short")
    assert exc.value.field == "idempotency_key"
    with pytest.raises(Invalid) as exc:
        service.record_visit(grid_worker, person_id=wang.pk, tag_id=elderly.pk,
                             outcome="well", idempotency_key="future-visit-1",
                             visited_at=timezone.now() + datetime.timedelta(hours=2))
    assert exc.value.field == "visited_at"
    with pytest.raises(Forbidden):
        visit(handler, wang, elderly)
    assert Visit.objects.count() == 0


def test_a_case_raised_from_a_visit(care, grid_worker, help_categories):
    wang, elderly = care["wang"], care["elderly"]
    request = service.CaseRequest(category="social.care", title="独居老人家中漏水需维修",
                                  description="卫生间水管漏水")
    v, created = visit(grid_worker, wang, elderly, "needs_help", key="visit-case-0001",
                       case=request)
    assert created and v.case is not None
    case = Case.objects.get()
    assert case.region == wang.region and case.title == "独居老人家中漏水需维修"
    # The retry files no second case.
    again, created = visit(grid_worker, wang, elderly, "needs_help", key="visit-case-0001",
                           case=request)
    assert not created and again.case_id == case.pk and Case.objects.count() == 1
    # A case the intake refuses leaves no visit behind either.
    with pytest.raises(Invalid) as exc:
        visit(grid_worker, wang, elderly, "needs_help", key="visit-case-0002",
              case=service.CaseRequest(category="nope", title="x"))
    assert exc.value.field == "case.category"
    assert Visit.objects.count() == 1


def test_history_shows_only_visible_tags(care, grid_worker, community_staff):
    wang = care["wang"]
    visit(grid_worker, wang, care["elderly"], "well", day=0)
    visit(grid_worker, wang, care["elderly"], "not_home", day=3)
    assert [v.outcome for v in service.history(grid_worker, wang)] == ["not_home", "well"]
    assert len(service.history(community_staff, wang)) == 2
