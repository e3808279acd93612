"""The project's URLs plus the case pages, for tests that run before config/urls.py includes
them (and unchanged after: the include is added only when the project lacks it)."""

from django.urls import include, path

from wangge.config.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(p, "namespace", None) == "cases" for p in urlpatterns):
    urlpatterns.append(path("cases/", include("wangge.cases.urls")))
