"""The inbox page — 消息: one person's messages, newest first; mark one or all read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import services
from .models import Notification

PER_PAGE = 30


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    qs = services.inbox(request.user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {
        "page": page, "unread_only": unread_only,
        "unread": services.unread_count(request.user),
    })


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the inbox on the same page and filter; nothing else from the form is echoed."""
    params = QueryDict(request.POST.get("return_query", ""))
    keep = {k: params[k] for k in ("page", "unread") if params.get(k, "").isdigit()}
    url = reverse("notifications:inbox")
    return redirect(f"{url}?{urlencode(keep)}" if keep else url)


@login_required
@require_POST
def read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.mark_read(request.user, notification_id)
    except Notification.DoesNotExist:
        raise Http404 from None
    return _back(request)


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(request.user)
    return _back(request)
