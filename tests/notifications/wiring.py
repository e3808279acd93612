"""URLs for the inbox, its API and the routing-rule pages, for tests.

The project's urls.py and API include these once the lead wires them in; until then this
urlconf adds them itself. Either way the tests exercise the same views and router.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, include, path, reverse
from ninja import NinjaAPI

from wangge.accounts.auth import api_auth
from wangge.config import urls as project_urls
from wangge.notifications.api import router as notifications_router


def _wired(name: str) -> bool:
    try:
        reverse(name, urlconf=project_urls)
    except NoReverseMatch:
        return False
    return True


urlpatterns = list(project_urls.urlpatterns)
if not _wired("case_rules:list"):
    urlpatterns.append(path("cases/rules/", include("wangge.cases.rules_urls")))
if not _wired("notifications:inbox"):
    urlpatterns.append(path("notifications/", include("wangge.notifications.urls")))
if _wired("api:list_notifications"):
    API_PREFIX = "/api/v1/notifications"
else:
    _api = NinjaAPI(auth=api_auth(), urls_namespace="notifications-test-api",
                    version="notifications-test")
    _api.add_router("/notifications", notifications_router)
    urlpatterns.append(path("test-api/", _api.urls))
    API_PREFIX = "/test-api/notifications"
