"""URLs for the import tests until the lead wires the real ones: the project's own URLs, plus
the import page at /regions/import/ (name "regions:import") and the import API at
/api/v1/regions-import/ on a small API of its own (a NinjaAPI can be mounted only once).

The routes are put in front of the project's so that "/regions/import/" isn't read as the
region code "import", and so that they still work once the lead has added the real ones.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import include, path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from wangge.accounts.auth import api_auth
from wangge.config.urls import urlpatterns as project_urlpatterns
from wangge.regions import urls as regions_urls
from wangge.regions.import_api import router as import_router
from wangge.regions.import_views import import_page

test_api = NinjaAPI(title="import test API", version="test", auth=api_auth(),
                    urls_namespace="test-import")


# The same answers as the project's API (wangge.config.api) gives for these exceptions.
@test_api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return test_api.create_response(request, {"detail": "forbidden", "permission": str(exc)},
                                    status=403)


@test_api.exception_handler(Http404)
def _not_found(request, exc):
    return test_api.create_response(request, {"detail": "not found"}, status=404)


@test_api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return test_api.create_response(request, {"detail": "authentication required"},
                                    status=401)


test_api.add_router("/regions-import", import_router)

regions_patterns = ([path("import/", import_page, name="import"), *regions_urls.urlpatterns],
                    "regions")

urlpatterns = [
    path("regions/", include(regions_patterns)),
    path("api/v1/", test_api.urls),
    *project_urlpatterns,
]
