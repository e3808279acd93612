"""The project's URLs plus /open311/v2, until config/urls.py includes it itself."""

from django.urls import include, path

from wangge.config.urls import urlpatterns as project_patterns

urlpatterns = list(project_patterns)
if not any(str(getattr(p, "pattern", "")) == "open311/v2/" for p in project_patterns):
    urlpatterns.append(path("open311/v2/", include("wangge.cases.open311.urls")))
