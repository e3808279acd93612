"""A person's visits page — 走访记录: her visit lists, when each is due, the history, and
the form to record one (posted through the day page's ``submit``, like the outbox)."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from wangge.accounts.permissions import has_permission, permission_required
from wangge.core.refusals import NotFound
from wangge.gridwork.views import refusals

from ..day.service import report_categories
from ..models import VisitOutcome
from . import service


@permission_required("gridwork.work")
@refusals
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    """One key-care person (masked as the registry shows her) and her visits."""
    found = service.visible_person(request.user, person_id)
    schedule = service.person_schedule(request.user, found)
    if not schedule:
        raise NotFound(_("This person is on none of your visit lists."))
    return render(request, "gridwork/visits/person.html", {
        "person": found, "schedule": schedule,
        "visits": service.history(request.user, found),
        "outcomes": VisitOutcome.choices, "new_key": uuid.uuid4().hex,
        "categories": (report_categories() if has_permission(request.user, "cases.report")
                       else []),
    })
