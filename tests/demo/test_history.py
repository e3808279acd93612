"""The demo city's past cases: played through the real workflow, dated in the past, counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from tests.demo.test_command import PASSWORD, run_demo
from wangge.audit.services import verify_chain
from wangge.briefings.models import Briefing
from wangge.cases.models import Case, CaseEvent, Photo
from wangge.cases.workflow import State
from wangge.demo.history import HISTORY_DAYS
from wangge.figures.fold import fold_all
from wangge.figures.recount import check
from wangge.notifications.models import DeliveryAttempt, Notification

CASES = 100


@pytest.fixture
def history_city(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    started = timezone.now()
    out = run_demo("--size", "S", "--seed", "3", "--password", PASSWORD,
                   "--history", str(CASES))
    return started, out


@pytest.mark.django_db
def test_past_cases_have_dated_timelines(history_city):
    started, out = history_city
    assert f"{CASES} past cases" in out
    cases = Case.objects.all()
    assert cases.count() == CASES
    oldest = cases.order_by("created_at").first().created_at
    assert started - timedelta(days=HISTORY_DAYS + 1) <= oldest < started - timedelta(days=20)
    # Each case's timeline starts with its report, at its creation, and runs forward.
    for case in cases.prefetch_related("events")[:40]:
        events = list(case.events.all())
        assert events[0].action == "report" and events[0].at == case.created_at
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert all(e.at <= started for e in events)
    states = dict(cases.values_list("state").annotate(n=Count("id")))
    assert states.get(State.CLOSED, 0) > CASES // 3
    assert set(states) - {State.CLOSED}, "some cases are still open or ended otherwise"
    assert CaseEvent.objects.filter(action="rate").exists()
    # Handled cases carry their evidence photos; the files are there to be served.
    photo = Photo.objects.filter(case__state=State.CLOSED).first()
    assert (tmp_media(photo)).exists()
    # The latest briefings are there at once, with the past cases in them.
    monthly = Briefing.objects.get(node__code="370102", kind="monthly")
    assert monthly.content["sections"]
    _history_is_counted_and_no_message_was_sent()
    # Built with the same city, to spare a second one: the grid work, then a reset.
    _grid_work_of_the_past_season()


def tmp_media(photo: Photo):
    from wangge.cases.services.photos import photo_root

    return photo_root() / photo.stored_name


def _history_is_counted_and_no_message_was_sent():
    fold_all()
    report = check()
    assert report.ok, report.differences[:3]
    # Inboxes got the messages (old ones read), but no channel "sent" last month's news.
    assert Notification.objects.exists()
    assert not DeliveryAttempt.objects.exists()
    recent = timezone.now() - timedelta(days=3)
    assert not Notification.objects.filter(created_at__lt=recent, read_at__isnull=True).exists()
    assert verify_chain().ok


@pytest.mark.django_db
def test_reset_removes_the_past_cases(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    run_demo("--size", "S", "--seed", "3", "--password", PASSWORD, "--history", "25")
    assert Case.objects.count() == 25
    run_demo("--size", "S", "--seed", "3", "--password", PASSWORD, "--reset")
    assert not Case.objects.exists()
    fold_all()
    assert check().ok


def _grid_work_of_the_past_season() -> None:
    """The showcase district's grid work: the matters list in every state, launched tasks
    partly done (tallies agree with the targets), visits, patrols with tracks, a proposal to
    split the oversized grid — and a reset removes all of it."""
    from wangge.demo.generator import delete_demo
    from wangge.gridwork.models import (
        GridProposal,
        MatterItem,
        Patrol,
        Task,
        TaskTally,
        TrackPoint,
        Visit,
    )
    from wangge.registry.models import Fact

    statuses = set(MatterItem.objects.values_list("status", flat=True))
    assert {"admitted", "applied", "refused", "exited"} <= statuses
    launched = Task.objects.filter(status="launched")
    assert launched.count() >= 3
    for task in launched:
        top = TaskTally.objects.get(task=task, region=task.region, period=task.periods[-1]
                                    if task.periods else "")
        done = task.targets.filter(status="done").count()
        assert top.total == task.targets.count() and top.done == done
    assert Fact.objects.filter(source__startswith="gridwork.target:").exists()
    assert Visit.objects.exists() and Patrol.objects.exists() and TrackPoint.objects.exists()
    assert GridProposal.objects.filter(kind="split").exists()
    delete_demo()
    assert not MatterItem.objects.exists() and not Task.objects.exists()
    assert not Visit.objects.exists() and not Patrol.objects.exists()
