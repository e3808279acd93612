"""The unread count for the top bar, counted only if a template asks for it."""

from __future__ import annotations

from django.http import HttpRequest

from .services import unread_count


def unread_messages(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A callable: the template calls it (one COUNT query) only where the badge is shown.
    return {"unread_messages": lambda: unread_count(user)}
