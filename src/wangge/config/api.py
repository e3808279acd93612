"""The JSON API under /api/v1 (django-ninja). Each app contributes a router."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from wangge.accounts.api import router as accounts_router
from wangge.accounts.auth import api_auth
from wangge.audit.api import router as audit_router
from wangge.briefings.api import router as briefings_router
from wangge.cases.api import router as cases_router
from wangge.cases.hotline_api import router as hotline_router
from wangge.catalog.api import router as catalog_router
from wangge.command.api import router as command_router
from wangge.evaluation.api import router as evaluation_router
from wangge.figures.api import router as figures_router
from wangge.gridwork.api import router as gridwork_router
from wangge.gridwork.day.api import router as gridwork_day_router
from wangge.gridwork.staffing.api import router as staffing_router
from wangge.notifications.api import router as notifications_router
from wangge.privacy.api import router as privacy_router
from wangge.regions.api import router as regions_router
from wangge.regions.import_api import router as import_router
from wangge.regions.locate_api import router as locate_router
from wangge.registry.api import router as registry_router

api = NinjaAPI(
    title="wangge API",
    version="1",
    description="wangge (网格) grassroots governance platform. Authenticate with a session "
    "(pages) or `Authorization: Bearer wg_…` (machine clients).",
    auth=api_auth(),
    urls_namespace="api",
)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return api.create_response(request, {"detail": "forbidden", "permission": str(exc)},
                               status=403)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": "not found"}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(request, {"detail": "authentication required"}, status=401)


api.add_router("/accounts", accounts_router)
api.add_router("/regions", regions_router)
api.add_router("/regions-import", import_router)
api.add_router("/audit", audit_router)
api.add_router("/notifications", notifications_router)
api.add_router("/locate", locate_router)
api.add_router("/cases/hotline-import", hotline_router)
api.add_router("/cases", cases_router)
api.add_router("/figures", figures_router)
api.add_router("/command", command_router)
api.add_router("/evaluation", evaluation_router)
api.add_router("/briefings", briefings_router)
api.add_router("/privacy", privacy_router)
api.add_router("/registry", registry_router)
api.add_router("/catalog", catalog_router)
api.add_router("/gridwork", gridwork_router)
api.add_router("/gridwork/staffing", staffing_router)
api.add_router("/gridwork/day", gridwork_day_router)
api.add_router("/gridwork/tasks", "wangge.gridwork.tasks.api.router")
