"""The grid matters list: admission, exit, history and the gate (网格事项准入清单)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from wangge.audit.models import AuditRecord
from wangge.gridwork import service
from wangge.gridwork.models import MatterDecision, MatterStatus
from wangge.gridwork.service import Application

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Refusals are matched by their English wording here."""
    with translation.override("en"):
        yield


def app(name="独居老人探访", **kw) -> Application:
    values = {"name": name, "basis": "《山东省养老服务条例》第二十条",
              "duties": "每月上门探访一次，记录身体和生活状况", "frequency": "monthly",
              "fields": ("living_alone", "health_note")}
    values.update(kw)
    return Application(**values)


def test_apply_admit_and_gate_accepts(handler, reviewer, civil_affairs):
    item = service.apply(handler, app())
    assert item.status == MatterStatus.APPLIED and item.region == civil_affairs.region
    with pytest.raises(service.NotAdmitted, match="网格事项准入清单"):
        service.require_admitted(item.pk, civil_affairs)
    day = datetime.date(2026, 1, 1)
    item = service.decide(reviewer, item.pk, "admit", on=day)
    assert item.status == MatterStatus.ADMITTED and item.effective_from == day
    assert service.require_admitted(item.pk, civil_affairs) == item
    assert service.require_admitted(str(item.pk), civil_affairs.pk) == item
    assert AuditRecord.objects.filter(action="gridwork.matter.admit").count() == 1


def test_apply_checks_fields_and_inputs(handler):
    with pytest.raises(service.Invalid) as exc:
        service.apply(handler, app(fields=("living_alone", "shoe_size")))
    assert exc.value.field == "fields" and "shoe_size" in exc.value.message
    with pytest.raises(service.Invalid) as exc:
        service.apply(handler, app(basis="  "))
    assert exc.value.field == "basis"
    with pytest.raises(service.Invalid) as exc:
        service.apply(handler, app(frequency="hourly"))
    assert exc.value.field == "frequency"


def test_apply_retry_is_idempotent_and_duplicate_conflicts(handler, reviewer):
    first = service.apply(handler, app())
    assert service.apply(handler, app()) == first
    with pytest.raises(service.Conflict):
        service.apply(handler, app(duties="不同的内容"))
    service.decide(reviewer, first.pk, "admit")
    with pytest.raises(service.Conflict):
        service.apply(handler, app())
    assert MatterDecision.objects.filter(action="apply").count() == 1


def test_refuse_needs_note_and_gate_refuses(handler, reviewer, civil_affairs):
    item = service.apply(handler, app())
    with pytest.raises(service.Invalid) as exc:
        service.decide(reviewer, item.pk, "refuse", "")
    assert exc.value.field == "note"
    item = service.decide(reviewer, item.pk, "refuse", "依据不足")
    assert item.status == MatterStatus.REFUSED
    with pytest.raises(service.NotAdmitted, match=item.get_status_display()):
        service.require_admitted(item.pk, civil_affairs)
    # a refused name may be applied for again
    again = service.apply(handler, app())
    assert again.pk != item.pk


def test_exit_workflow_and_full_history(handler, steward, reviewer, civil_affairs):
    item = service.apply(handler, app())
    service.decide(reviewer, item.pk, "admit")
    with pytest.raises(service.Invalid):
        service.decide(steward, item.pk, "apply_exit", "")
    service.decide(steward, item.pk, "apply_exit", "工作已由社区承担")
    # still on the list until the exit is approved
    assert service.require_admitted(item.pk, civil_affairs)
    service.decide(reviewer, item.pk, "refuse_exit", "仍需网格落实")
    assert service.decide(reviewer, item.pk, "refuse_exit", "仍需网格落实").status == "admitted"
    service.decide(handler, item.pk, "apply_exit", "再次申请退出")
    item = service.decide(reviewer, item.pk, "approve_exit", on=datetime.date(2026, 6, 30))
    assert item.status == MatterStatus.EXITED and item.exited_on == datetime.date(2026, 6, 30)
    with pytest.raises(service.NotAdmitted, match="exited"):
        service.require_admitted(item.pk, civil_affairs)
    history = list(item.decisions.values_list("action", "by__username", "note"))
    assert history == [
        ("apply", "mz_handler", ""), ("admit", "lx_command", ""),
        ("apply_exit", "mz_steward", "工作已由社区承担"),
        ("refuse_exit", "lx_command", "仍需网格落实"),
        ("apply_exit", "mz_handler", "再次申请退出"), ("approve_exit", "lx_command", "")]
    assert AuditRecord.objects.filter(action__startswith="gridwork.matter.").count() == 6


def test_decisions_are_append_only(handler):
    item = service.apply(handler, app())
    decision = item.decisions.get()
    decision.note = "改写"
    with pytest.raises(ValueError):
        decision.save()
    with pytest.raises(ValueError):
        decision.delete()


def test_wrong_state_is_409_and_retry_is_noop(handler, reviewer):
    item = service.apply(handler, app())
    with pytest.raises(service.Conflict) as exc:
        service.decide(reviewer, item.pk, "approve_exit")
    assert exc.value.status == 409
    service.decide(reviewer, item.pk, "admit")
    service.decide(reviewer, item.pk, "admit")  # a retry
    assert item.decisions.filter(action="admit").count() == 1
    with pytest.raises(service.Conflict):
        service.decide(reviewer, item.pk, "refuse", "晚了")


def test_wrong_role_department_and_scope(handler, police_handler, reviewer, city_command,
                                         street_command, tree):
    from tests.factories import make_user
    from wangge.accounts.roles import Role

    with pytest.raises(service.Forbidden):
        service.apply(reviewer, app())
    grid_worker = make_user("gw1", Role.GRID_WORKER, tree["370102001001001"])
    with pytest.raises(service.Forbidden):
        service.apply(grid_worker, app())
    item = service.apply(handler, app())
    with pytest.raises(service.Forbidden):  # a handler does not review
        service.decide(handler, item.pk, "admit")
    with pytest.raises(service.NotFound):  # another department's item: not even seen
        service.decide(police_handler, item.pk, "apply_exit", "不是我们的")
    with pytest.raises(service.NotFound):  # a street's command centre is out of scope
        service.decide(street_command, item.pk, "admit")
    with pytest.raises(service.Forbidden):  # the city sees it but the district reviews
        service.decide(city_command, item.pk, "admit")
    other = make_user("sz_command", Role.COMMAND, tree["370102002"])
    with pytest.raises(service.NotFound):
        service.get_item(other, item.pk)
    assert item.status == MatterStatus.APPLIED


def test_gate_refuses_unlisted_and_other_departments(handler, reviewer, civil_affairs, police):
    with pytest.raises(service.NotAdmitted, match="no such item"):
        service.require_admitted(99999, civil_affairs)
    with pytest.raises(service.NotAdmitted):
        service.require_admitted(None, civil_affairs)
    item = service.apply(handler, app())
    service.decide(reviewer, item.pk, "admit")
    with pytest.raises(service.NotAdmitted, match="another department"):
        service.require_admitted(item.pk, police)


def test_gate_waits_for_effective_date(handler, reviewer, civil_affairs):
    item = service.apply(handler, app())
    service.decide(reviewer, item.pk, "admit", on=datetime.date(2099, 1, 1))
    with pytest.raises(service.NotAdmitted, match="2099-01-01"):
        service.require_admitted(item.pk, civil_affairs)
    assert service.require_admitted(item.pk, civil_affairs, on=datetime.date(2099, 1, 1))


def test_review_queue_and_department_visibility(handler, police_handler, reviewer):
    mine = service.apply(handler, app())
    theirs = service.apply(police_handler, app("流动人口登记", fields=("residence_type",)))
    assert set(service.review_queue(reviewer)) == {mine, theirs}
    assert list(service.visible_items(handler)) == [mine]
    service.decide(reviewer, mine.pk, "admit")
    assert list(service.review_queue(reviewer)) == [theirs]
