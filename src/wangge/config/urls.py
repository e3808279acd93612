from django.contrib import admin
from django.urls import include, path

from wangge.core import views as core_views

from .api import api

admin.site.site_header = "wangge 网格 · 管理"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("wangge.accounts.urls")),
    path("regions/", include("wangge.regions.urls")),
    path("audit/", include("wangge.audit.urls")),
    path("api/v1/", api.urls),
    path("open311/v2/", include("wangge.cases.open311.urls")),
    path("cases/rules/", include("wangge.cases.rules_urls")),
    path("cases/", include("wangge.cases.urls")),
    path("notifications/", include("wangge.notifications.urls")),
    path("command/", include("wangge.command.urls")),
    path("evaluation/", include("wangge.evaluation.urls")),
    path("briefings/", include("wangge.briefings.urls")),
    path("public/matters/", include("wangge.gridwork.public_urls")),
    path("public/", include("wangge.briefings.public_urls")),
    path("gridwork/", include("wangge.gridwork.urls")),
    path("registry/imports/", include("wangge.registry.imports.urls")),
    path("registry/linkage/", include("wangge.registry.linking.urls")),
    path("registry/privacy/", include("wangge.registry.stewardship_urls")),
    path("registry/", include("wangge.registry.urls")),
    path("catalog/forms/", include("wangge.catalog.collection.urls")),
    path("catalog/", include("wangge.catalog.urls")),
    path("admin/", admin.site.urls),
]

